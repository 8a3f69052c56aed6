/**
 * The DpopProofs port of the refresh flow (server/core/dpop-port.ts) over verifyDpopProof: the
 * settings become one policy at start, every check is a POST to PUBLIC_URL + /session/refresh,
 * and a good proof becomes the ProofUse the store records with the rotation. It also hands out
 * the nonce the HTTP edge puts in DPoP-Nonce.
 */
import type { DpopCheck, DpopProofs } from "../dpop-port";
import { refreshHtu } from "./htu";
import { DpopNonces } from "./nonces";
import { type DpopPolicy, verifyDpopProof } from "./proof";

export interface DpopSettings {
  /** PUBLIC_URL as the settings parsed it. */
  publicUrl: string;
  /** DPOP_PROOF_MAX_AGE; also the nonce step, so a nonce lives one to two proof lifetimes. */
  proofMaxAgeMs: number;
  /** DPOP_CLOCK_SKEW. */
  clockSkewMs: number;
  /** DPOP_NONCE=on. */
  nonce: boolean;
  /** DerivedSecrets.dpopNonceKey. */
  nonceKey: Buffer;
}

export class RefreshProofs implements DpopProofs {
  readonly policy: DpopPolicy;

  constructor(settings: DpopSettings) {
    this.policy = {
      htu: refreshHtu(settings.publicUrl),
      maxAgeMs: settings.proofMaxAgeMs,
      clockSkewMs: settings.clockSkewMs,
      nonces: settings.nonce ? new DpopNonces(settings.nonceKey, settings.proofMaxAgeMs) : null,
    };
  }

  async check(proof: string | undefined, expectedJkt: string, now: number): Promise<DpopCheck> {
    const verdict = await verifyDpopProof({ proof, jkt: expectedJkt, method: "POST", now }, this.policy);
    if (!verdict.ok) return { ok: false, code: verdict.error };
    // Remembered per key: one client's jti can never collide with another's.
    return { ok: true, use: { jti: `${expectedJkt}.${verdict.jti}`, expiresAt: verdict.rememberUntil } };
  }

  /** The DPoP-Nonce value every /session/refresh answer carries, or null with DPOP_NONCE=off. */
  currentNonce(now: number): string | null {
    return this.policy.nonces?.current(now) ?? null;
  }
}
