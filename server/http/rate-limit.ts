/**
 * Brute-force protection (RATE_LIMIT, e.g. 20/1m). Only failed credentials count (invalid_grant,
 * invalid_client). Once a source has failed `max` times within its window, every further request
 * of it to a credential endpoint is refused with 429 *before* its credential is looked at, until
 * the window ends: a guess past the limit is never checked, so a right guess is never served.
 *
 * The price: a legitimate client behind the same address (a NAT, a shared proxy not listed in
 * TRUSTED_PROXIES) is refused too while an attacker keeps that address over the limit. The README
 * says so.
 *
 * Memory is bounded: at most `maxSources` sources are remembered, least recently failed forgotten
 * first. An attacker who controls more sources than that (more IPv4 addresses or IPv6 /64s) can make
 * the limiter forget one of them early — each of those sources still gets at most `max` guesses
 * per window before it is forgotten.
 */
import type { RateLimit } from "../config";

export const DEFAULT_MAX_SOURCES = 50_000;

interface Window {
  start: number;
  failures: number;
}

export class FailureLimiter {
  /** Map iteration order is insertion order: re-inserting on each failure keeps it least recently failed first. */
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
    private readonly maxSources = DEFAULT_MAX_SOURCES,
  ) {}

  /** Seconds until `source` may try again when it is over the limit, else null. */
  retryAfter(source: string): number | null {
    const window = this.windows.get(source);
    if (!window || window.failures < this.limit.max) return null;
    const left = window.start + this.limit.windowMs - this.now();
    if (left <= 0) {
      this.windows.delete(source);
      return null;
    }
    return Math.ceil(left / 1000);
  }

  /** Records one failed credential of `source`. */
  fail(source: string): void {
    const now = this.now();
    let window = this.windows.get(source);
    if (window) this.windows.delete(source);
    if (!window || now - window.start >= this.limit.windowMs) window = { start: now, failures: 0 };
    window.failures++;
    this.windows.set(source, window);
    if (this.windows.size > this.maxSources) this.windows.delete(this.windows.keys().next().value!);
  }

  /** How many sources are remembered (for tests of the bound). */
  get size(): number {
    return this.windows.size;
  }
}
