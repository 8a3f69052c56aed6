/**
 * The one error `verify` rejects with. Its `code` is stable (tests and callers switch on it); its
 * message is one of the fixed texts below and never contains the token or any claim value.
 */

export type VerifierErrorCode = "invalid_token" | "token_expired" | "session_revoked" | "unavailable";

/** Why a token was refused, in words for people (logs); callers decide on `code`. */
export const REASONS = {
  notString: "The access token is not a string.",
  empty: "The access token is empty.",
  tooLong: "The access token is longer than any access token of the service.",
  malformed: "The access token is not a compact JWS.",
  header: "The access token's header is not acceptable (alg, kid, typ or a key reference).",
  unknownKey: "The access token names a key that is not in the JWKS.",
  wrongAlg: "The access token's alg is not its key's.",
  signature: "The access token's signature does not verify.",
  claims: "The access token's claims are not acceptable (iss, aud, typ or a required claim).",
  expired: "The access token has expired.",
  revoked: "The access token's session was revoked.",
  noKeys: "No signing key could be loaded from the JWKS yet.",
  failClosed: "Revocations have been unreachable for longer than failClosedAfterMs.",
  closed: "The verifier is closed.",
} as const;

export type Reason = keyof typeof REASONS;

const CODE_OF: Record<Reason, VerifierErrorCode> = {
  notString: "invalid_token",
  empty: "invalid_token",
  tooLong: "invalid_token",
  malformed: "invalid_token",
  header: "invalid_token",
  unknownKey: "invalid_token",
  wrongAlg: "invalid_token",
  signature: "invalid_token",
  claims: "invalid_token",
  expired: "token_expired",
  revoked: "session_revoked",
  noKeys: "unavailable",
  failClosed: "unavailable",
  closed: "unavailable",
};

export class VerifierError extends Error {
  readonly code: VerifierErrorCode;

  constructor(reason: Reason) {
    super(REASONS[reason]);
    this.name = "VerifierError";
    this.code = CODE_OF[reason];
  }
}
