/**
 * @session-service/verifier — verifies the Session Service's access tokens locally with its JWKS
 * and refuses revoked sessions as soon as `session.revoked` arrives on JetStream (CONTRACT §9).
 * Relative imports name `.js` files: Bun maps them to these sources, tsc keeps them for Node.js.
 */
export { VerifierError, type VerifierErrorCode } from "./errors.js";
export { authenticate, bearerCredential, RETRY_AFTER_SECONDS, type Refusal, refusal, refusalOf } from "./http.js";
export type { NatsOptions, RevocationState, VerifierEvent, VerifierOptions } from "./options.js";
export type { AccessTokenClaims } from "./token.js";
export { createVerifier, type Verifier, type VerifierStatus } from "./verifier.js";
