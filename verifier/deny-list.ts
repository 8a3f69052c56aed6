/**
 * Revoked sessions, each kept until the last access token of it has expired (its
 * `access_token_expires_at` plus the clock tolerance) and then forgotten, so memory holds only the
 * sessions revoked within one access-token lifetime.
 */
export class DenyList {
  /** session id → until when (ms) its tokens are refused. */
  private readonly until = new Map<string, number>();

  get size(): number {
    return this.until.size;
  }

  /** Denies `sessionId` until `untilMs`; a later revocation of the same session can only extend it. */
  add(sessionId: string, untilMs: number): void {
    const known = this.until.get(sessionId);
    if (known === undefined || known < untilMs) this.until.set(sessionId, untilMs);
  }

  /** Revoked, as far as any of its tokens can still be alive at `now`. */
  has(sessionId: string, now: number): boolean {
    const until = this.until.get(sessionId);
    return until !== undefined && until > now;
  }

  /** Forgets every entry whose tokens have all expired; returns how many went. */
  sweep(now: number): number {
    let removed = 0;
    for (const [sessionId, until] of this.until) {
      if (until <= now) {
        this.until.delete(sessionId);
        removed++;
      }
    }
    return removed;
  }
}
