/**
 * The header values an HTTP edge sends with DPoP outcomes (CONTRACT §10, RFC 9449 §7.1 and §8),
 * as plain data so the core stays free of Elysia. Header names are lowercase, as errorResponse
 * in server/http/errors.ts writes them. No value ever carries anything taken from the proof.
 */
import { DPOP_ALGS } from "./algorithms";
import type { DpopErrorCode } from "./proof";

/** RFC 9449 §7.1: the algorithms the server accepts, so a client can pick one it supports. */
export const DPOP_ALGS_PARAMETER = `algs="${DPOP_ALGS.join(" ")}"`;

/** `WWW-Authenticate: DPoP error="…", algs="EdDSA ES256 RS256 PS256"`. */
export const dpopChallenge = (code: DpopErrorCode): string => `DPoP error="${code}", ${DPOP_ALGS_PARAMETER}`;

/** Headers of a successful refresh answer: `DPoP-Nonce` with DPOP_NONCE=on (null nonce: none). */
export function dpopNonceHeaders(nonce: string | null): Record<string, string> {
  return nonce === null ? {} : { "dpop-nonce": nonce };
}

/**
 * Headers of a refused proof: the challenge, and with DPOP_NONCE=on the current nonce. It goes with
 * every refusal, not only `use_dpop_nonce`, so a client whose proof was wrong for another reason
 * need not ask twice. (`use_dpop_nonce` is only ever the verdict when nonces are on.)
 */
export function dpopErrorHeaders(code: DpopErrorCode, nonce: string | null): Record<string, string> {
  return { "www-authenticate": dpopChallenge(code), ...dpopNonceHeaders(nonce) };
}
