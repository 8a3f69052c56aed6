/**
 * Stateless DPoP nonces (RFC 9449 §8), so that every instance sharing SECRET_KEY accepts the
 * nonce another one issued, with nothing stored. Time is cut into steps of `stepMs`; the nonce of
 * step k is the first 128 bits of HMAC-SHA256(k_nonce, "dpop-nonce/v1:" ‖ k), base64url
 * (22 characters, opaque, URL-safe, within RFC 9449's NQCHAR). `k_nonce` is the HKDF sub-key
 * `dpopNonceKey` of server/core/secrets.ts.
 *
 * Lifetime: a nonce issued during step k is accepted while the checking instance's clock is in
 * step k − 1, k or k + 1, i.e. from its issue until the end of the next step — at least one step
 * and at most two. Accepting k + 1 and k − 1 lets instances whose clocks differ by less than a
 * step agree; only a holder of SECRET_KEY can compute any step's nonce, so this widens nothing an
 * attacker can use. Every client gets the same nonce within a step, which RFC 9449 §8.2 allows:
 * it bounds how long a proof made in advance stays usable, not who made it.
 */
import { createHmac } from "node:crypto";
import { constantTimeEqual } from "../secrets";

const NONCE = /^[A-Za-z0-9_-]{22}$/;

export class DpopNonces {
  constructor(
    private readonly key: Buffer,
    /** Length of a step; the composition root passes DPOP_PROOF_MAX_AGE, so a nonce lives one to two proof lifetimes. */
    readonly stepMs: number,
  ) {
    if (!Number.isSafeInteger(stepMs) || stepMs < 1000) throw new Error("nonce step must be at least 1 s");
  }

  /** The nonce to hand out now (the DPoP-Nonce header value). */
  current(now: number): string {
    return this.ofStep(this.stepAt(now));
  }

  /** Whether a proof's `nonce` is one this service issued for the current, previous or next step. */
  accepts(nonce: unknown, now: number): boolean {
    if (typeof nonce !== "string" || !NONCE.test(nonce)) return false;
    const step = this.stepAt(now);
    let accepted = false;
    for (const candidate of [step - 1, step, step + 1]) {
      // Every candidate is compared, so the answer's timing does not tell which step matched.
      if (constantTimeEqual(nonce, this.ofStep(candidate))) accepted = true;
    }
    return accepted;
  }

  private stepAt(now: number): number {
    return Math.floor(now / this.stepMs);
  }

  private ofStep(step: number): string {
    return createHmac("sha256", this.key)
      .update(`dpop-nonce/v1:${step}`)
      .digest()
      .subarray(0, 16)
      .toString("base64url");
  }
}
