/**
 * A bounded memo of tokens whose signature and claims were verified, keyed by the whole token
 * text (only that very token can hit). It saves the public-key operation, nothing else: every hit
 * is still checked for expiry, for its key still being published, and for its session's revocation.
 *
 * Two generations of at most half the size each: when the current one is full it becomes the
 * previous one and the old previous one is dropped whole. Unlike evicting the oldest entry of one
 * Map per insert (which in JavaScriptCore walks ever more deleted slots at the front and cost 10 %
 * of the cold rate), this keeps an insert at one Map.set.
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
  private current = new Map<string, Verified<Claims>>();
  private previous = new Map<string, Verified<Claims>>();
  private readonly generationSize: number;

  constructor(private readonly maxEntries: number) {
    this.generationSize = Math.max(1, Math.floor(maxEntries / 2));
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  get(token: string): Verified<Claims> | undefined {
    return this.current.get(token) ?? this.previous.get(token);
  }

  add(token: string, verified: Verified<Claims>): void {
    if (this.maxEntries === 0) return;
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(token, verified);
  }

  delete(token: string): void {
    this.current.delete(token);
    this.previous.delete(token);
  }

  /** Drops entries that can never hit again (expired), so a quiet memo does not hold dead tokens. */
  sweep(now: number): void {
    for (const generation of [this.current, this.previous])
      for (const [token, entry] of generation) if (entry.expiresAtMs <= now) generation.delete(token);
  }
}
