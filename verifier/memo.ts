/**
 * A bounded memo of tokens whose signature and claims were verified, keyed by the whole token
 * text (only that very token can hit). It saves the public-key operation, nothing else: every hit
 * is still checked for expiry, for its key still being published, and for its session's revocation.
 */
import type { VerificationKey } from "./jwks.js";

export interface Verified<Claims> {
  claims: Claims;
  /** `exp` + tolerance, in ms: after it the token is expired. */
  expiresAtMs: number;
  /** The key that verified it: when the JWKS no longer holds this very key, the entry is void. */
  key: VerificationKey;
}

export class VerifiedTokens<Claims> {
  private readonly entries = new Map<string, Verified<Claims>>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(token: string): Verified<Claims> | undefined {
    return this.entries.get(token);
  }

  add(token: string, verified: Verified<Claims>): void {
    if (this.maxEntries === 0) return;
    // Oldest first (Map keeps insertion order): a full memo costs one more signature check, never memory.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, verified);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  /** Drops entries that can never hit again (expired), so a quiet memo does not hold dead tokens. */
  sweep(now: number): void {
    for (const [token, entry] of this.entries) if (entry.expiresAtMs <= now) this.entries.delete(token);
  }
}
