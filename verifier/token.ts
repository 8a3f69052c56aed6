/**
 * One access token checked with jose against our keys: compact JWS, `typ` at+jwt, a `kid` we hold
 * whose `alg` the header repeats (EdDSA, ES256 or RS256 only), the signature, `iss`, `aud`, `exp`
 * with the tolerance, and every required claim. Keys come only from the JWKS, never the token.
 */
import { errors, type JWTPayload, jwtVerify } from "jose";
import { type Reason, VerifierError } from "./errors.js";
import { ALGORITHMS, type KeySet, type VerificationKey } from "./jwks.js";

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  sid: string;
  iss: string;
  aud: string | string[];
  iat: number;
  exp: number;
  jti: string;
  [claim: string]: unknown;
}

export interface TokenRules {
  issuer: string;
  audience: string | string[];
  toleranceSeconds: number;
}

/** Three non-empty base64url segments: `alg: none` (an empty signature) never gets further. */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const REQUIRED = ["sub", "sid", "iss", "aud", "iat", "exp", "jti"];
/** Header members that point at a key of the token's own choosing: never trusted, so refused outright. */
const KEY_REFERENCES = ["jwk", "jku", "x5u", "x5c"];
const ALLOWED: readonly string[] = ALGORITHMS;

function refuse(reason: Reason): never {
  throw new VerifierError(reason);
}

/** Deep-frozen, so the memo can hand the same claims to every caller without one changing them for all. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

export async function verifyAccessToken(
  token: string,
  keys: KeySet,
  rules: TokenRules,
  now: number,
): Promise<{ claims: AccessTokenClaims; key: VerificationKey }> {
  if (!COMPACT_JWS.test(token)) refuse("malformed");
  let used: VerificationKey | undefined;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        const { kid, alg } = header;
        if (typeof kid !== "string" || kid === "" || typeof alg !== "string" || !ALLOWED.includes(alg))
          refuse("header");
        if (KEY_REFERENCES.some((name) => name in header)) refuse("header");
        used = keys.get(kid) ?? (await keys.unknownKid(kid));
        if (!used) refuse("unknownKey");
        if (used.alg !== alg) refuse("wrongAlg");
        return used.key;
      },
      {
        algorithms: [...ALGORITHMS],
        issuer: rules.issuer,
        audience: rules.audience,
        typ: "at+jwt",
        requiredClaims: REQUIRED,
        clockTolerance: rules.toleranceSeconds,
        currentDate: new Date(now),
      },
    ));
  } catch (error) {
    if (error instanceof VerifierError) throw error;
    // jose's own errors carry claim values (JWTClaimValidationFailed.payload): only our fixed reason leaves.
    if (error instanceof errors.JWTExpired) refuse("expired");
    if (error instanceof errors.JWSSignatureVerificationFailed) refuse("signature");
    if (error instanceof errors.JWTClaimValidationFailed) refuse("claims");
    if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) refuse("header");
    refuse("malformed");
  }
  const { sub, sid, jti, iat } = payload;
  if (typeof sub !== "string" || sub === "" || typeof sid !== "string" || sid === "") refuse("claims");
  if (typeof jti !== "string" || jti === "" || typeof iat !== "number") refuse("claims");
  return { claims: deepFreeze(payload as AccessTokenClaims), key: used! };
}
