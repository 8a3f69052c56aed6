/**
 * Verification of one DPoP proof (RFC 9449 §4.3, CONTRACT §10) for the refresh of a bound session.
 * Pure: it reads no store and no clock (`now` is given), so every rule
 * is tested with a fake clock. The one check it cannot make is that the `jti` was never seen: the
 * caller records `jti` once, in the store, in the same transaction as the rotation.
 *
 * Checks run cheapest first, and the signature last but one: the header is parsed (after a size
 * cap), its `typ`, `alg` and `jwk` are checked, the JWK's thumbprint must equal the session's
 * `jkt` — so an expensive signature check is only ever made with the one key the session was bound
 * to — then the signature, then the claims, and the nonce last, so that `use_dpop_nonce` tells a
 * client that everything but the nonce was right.
 *
 * "Not valid" is a returned verdict, never an exception. A failure carries a constant `reason`
 * (for logs and tests) and nothing taken from the proof.
 */
import { decodeProtectedHeader } from "jose";
import { constantTimeEqual } from "../secrets";
import { isDpopAlg, KEY_TYPE_OF } from "./algorithms";
import { normaliseHtu } from "./htu";
import type { DpopNonces } from "./nonces";
import { jtiRememberUntil } from "./replay";
import { verifyProofSignature } from "./signature";
import { jwkThumbprint } from "./thumbprint";

/**
 * Longest DPoP header value accepted, checked before anything is parsed. A proof with an RSA-4096
 * key is about 2 KB; four times that leaves room for any honest client.
 */
export const MAX_PROOF_LENGTH = 8192;
/** Longest `jti` accepted: room for any UUID or random id, and a bounded key in the replay store. */
export const MAX_JTI_LENGTH = 128;

/** The compact serialization only: three non-empty base64url parts (no JSON serialization, no `alg: none` empty signature). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** JWK members of private or symmetric keys (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const UTF8 = new TextDecoder("utf-8", { fatal: true });

export type DpopErrorCode = "invalid_dpop_proof" | "use_dpop_nonce";

/** Why a proof was refused: constant names, safe to log and to count. */
export type DpopFailureReason =
  | "missing"
  | "too_large"
  | "not_compact_jws"
  | "header"
  | "typ"
  | "alg"
  | "jwk_missing"
  | "jwk_private"
  | "jwk_type"
  | "jwk_invalid"
  | "thumbprint"
  | "jws_invalid"
  | "signature"
  | "claims"
  | "jti"
  | "htm"
  | "htu"
  | "iat"
  | "iat_too_old"
  | "iat_in_future"
  | "nonce_missing"
  | "nonce_invalid";

/** What the service's settings say about every proof (build it once at start). */
export interface DpopPolicy {
  /** The `htu` every proof must name: `refreshHtu(PUBLIC_URL)` (compared after normalisation). */
  htu: string;
  /** DPOP_PROOF_MAX_AGE: how old `iat` may be. */
  maxAgeMs: number;
  /** DPOP_CLOCK_SKEW: how far ahead `iat` may be. */
  clockSkewMs: number;
  /** DPOP_NONCE=on: the nonces a proof must carry one of; null when off. */
  nonces: DpopNonces | null;
}

/** One request's side of the check. */
export interface DpopRequest {
  /** The `DPoP` header value as the edge got it (`headers.get("dpop")`), null or undefined when absent. */
  proof: string | null | undefined;
  /** The thumbprint the session is bound to. */
  jkt: string;
  /** The request's method (`POST`): `htm` must equal it exactly. */
  method: string;
  /** Epoch milliseconds. */
  now: number;
}

export type DpopVerdict =
  /** The proof is good; `jti` must now be recorded once, remembered until `rememberUntil` (epoch ms). */
  | { ok: true; jti: string; iat: number; rememberUntil: number }
  | { ok: false; error: DpopErrorCode; reason: DpopFailureReason };

const refuse = (reason: DpopFailureReason): DpopVerdict => ({ ok: false, error: "invalid_dpop_proof", reason });
const askForNonce = (reason: DpopFailureReason): DpopVerdict => ({ ok: false, error: "use_dpop_nonce", reason });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export async function verifyDpopProof(request: DpopRequest, policy: DpopPolicy): Promise<DpopVerdict> {
  const expectedHtu = normaliseHtu(policy.htu);
  if (expectedHtu === null) throw new Error("DpopPolicy.htu must be an absolute http(s) URL");
  const { proof } = request;

  if (proof === null || proof === undefined || proof === "") return refuse("missing");
  // A combined header (`a, b`, from several DPoP fields) fails the compact form as well.
  if (proof.length > MAX_PROOF_LENGTH) return refuse("too_large");
  if (!COMPACT_JWS.test(proof)) return refuse("not_compact_jws");

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    return refuse("header");
  }
  if (header.typ !== "dpop+jwt") return refuse("typ");
  const alg = header.alg;
  if (!isDpopAlg(alg)) return refuse("alg");

  const jwk = header.jwk;
  if (!isObject(jwk)) return refuse("jwk_missing");
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member))) return refuse("jwk_private");
  const keyType = KEY_TYPE_OF[alg];
  if (jwk.kty !== keyType.kty || (keyType.crv !== undefined && jwk.crv !== keyType.crv)) return refuse("jwk_type");

  // No JWS extension is understood: `crit` (RFC 7515 §4.1.11) and unencoded payloads (RFC 7797) are refused.
  if (header.crit !== undefined || header.b64 !== undefined) return refuse("jws_invalid");

  const thumbprint = jwkThumbprint(jwk);
  if (thumbprint === null) return refuse("jwk_invalid");
  if (!constantTimeEqual(thumbprint, request.jkt)) return refuse("thumbprint");

  const lastDot = proof.lastIndexOf(".");
  const signed = await verifyProofSignature(
    alg,
    jwk,
    thumbprint,
    proof.slice(0, lastDot),
    Buffer.from(proof.slice(lastDot + 1), "base64url"),
  );
  // A key node:crypto cannot import, or RSA under 2048 bits, is as unusable as a bad signature is wrong.
  if (signed !== "valid") return refuse(signed === "invalid" ? "signature" : "jws_invalid");
  const payload = Buffer.from(proof.slice(proof.indexOf(".") + 1, lastDot), "base64url");

  let claims: unknown;
  try {
    claims = JSON.parse(UTF8.decode(payload));
  } catch {
    return refuse("claims");
  }
  if (!isObject(claims)) return refuse("claims");

  const { jti, htm, htu, iat } = claims;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH || !jti.isWellFormed()) {
    return refuse("jti");
  }
  if (htm !== request.method) return refuse("htm");
  if (typeof htu !== "string" || normaliseHtu(htu) !== expectedHtu) return refuse("htu");
  if (typeof iat !== "number" || !Number.isFinite(iat)) return refuse("iat");
  const iatMs = iat * 1000;
  if (iatMs < request.now - policy.maxAgeMs) return refuse("iat_too_old");
  if (iatMs > request.now + policy.clockSkewMs) return refuse("iat_in_future");

  if (policy.nonces !== null) {
    if (claims.nonce === undefined) return askForNonce("nonce_missing");
    if (!policy.nonces.accepts(claims.nonce, request.now)) return askForNonce("nonce_invalid");
  }

  return { ok: true, jti, iat, rememberUntil: jtiRememberUntil(iat, policy.maxAgeMs) };
}
