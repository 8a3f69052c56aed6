/**
 * What the refresh flow needs from DPoP proof checking (CONTRACT §10), so the use case does not
 * depend on how proofs are parsed: given the DPoP header and the session's key thumbprint, either
 * the proof's `jti` to record with the change, or the refusal to answer.
 */
import type { ProofUse } from "./ports";

export type DpopCheck = { ok: true; use: ProofUse } | { ok: false; code: "invalid_dpop_proof" | "use_dpop_nonce" };

export interface DpopProofs {
  check(proof: string | undefined, expectedJkt: string, now: number): Promise<DpopCheck>;
}

/** Without a proof checker no bound session can be refreshed: every proof is refused. */
export const noDpop: DpopProofs = { check: async () => ({ ok: false, code: "invalid_dpop_proof" }) };
