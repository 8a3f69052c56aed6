/**
 * A bounded memo of access tokens whose signature and claims were verified, so a token presented
 * again skips the public-key operation (the costliest step of every user request). It is keyed by
 * the whole token text, so only the very token that was verified can hit; an entry is used only
 * while the token has not expired and its key is still published. It says nothing about the
 * session: the caller still checks on every request that the session is active, so no revocation
 * is ever outlived by this cache.
 */
export interface VerifiedToken {
  sub: string;
  sid: string;
  /** Seconds, as in the JWT. */
  exp: number;
  kid: string;
}

export class VerifiedTokens {
  private readonly entries = new Map<string, VerifiedToken>();

  constructor(private readonly maxEntries = 50_000) {}

  get(token: string): VerifiedToken | undefined {
    return this.entries.get(token);
  }

  add(token: string, verified: VerifiedToken): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first: Map keeps insertion order.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, verified);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }
}
