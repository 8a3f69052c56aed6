/**
 * How long a proof's `jti` must be remembered (CONTRACT §10): until `iat + DPOP_PROOF_MAX_AGE` has
 * passed. After that instant the iat window refuses the proof by itself, so the store may forget
 * the jti; before it, a second use must be refused by the store's one-time record.
 */

/**
 * The first epoch millisecond at which a proof of this `iat` (seconds, as in the claim) is too old
 * to be accepted: the store keeps its jti while `now < rememberUntil` and may purge it from then on.
 * (The window is inclusive, `iat·1000 ≥ now − maxAge`, hence the +1 past the last accepted millisecond.)
 */
export function jtiRememberUntil(iatSeconds: number, maxAgeMs: number): number {
  return Math.floor(iatSeconds * 1000 + maxAgeMs) + 1;
}
