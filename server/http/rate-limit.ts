/**
 * Brute-force protection (RATE_LIMIT, e.g. 20/1m). Only failures count: a source whose failed
 * credentials pass the limit within the window gets 429 instead of 401 for further failures,
 * while a request that presents a valid credential is always served — so an attacker sharing an
 * address with a user can never lock that user's session out.
 */
import type { RateLimit } from "../config";

const SWEEP_EVERY = 1024;

export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();
  private calls = 0;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one failure of `source`; returns seconds to wait when it is over the limit, else null. */
  fail(source: string): number | null {
    const now = this.now();
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    let window = this.windows.get(source);
    if (!window || now - window.start >= this.limit.windowMs) {
      window = { start: now, failures: 0 };
      this.windows.set(source, window);
    }
    window.failures++;
    if (window.failures <= this.limit.max) return null;
    return Math.max(1, Math.ceil((window.start + this.limit.windowMs - now) / 1000));
  }

  /** Forgets windows that have ended, so memory stays bounded by the sources of one window. */
  private sweep(now: number): void {
    for (const [source, window] of this.windows) {
      if (now - window.start >= this.limit.windowMs) this.windows.delete(source);
    }
  }
}

/**
 * The source of a request: the client address the caller reports (the `ip` of a refresh body,
 * then the first X-Forwarded-For hop) before the socket's own, which behind a gateway is the gateway.
 */
export function sourceOf(request: Request, body: unknown, socketAddress: string | undefined): string {
  const reported = body && typeof body === "object" ? (body as { ip?: unknown }).ip : undefined;
  if (typeof reported === "string" && reported.length <= 64) return reported;
  const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  if (forwarded && forwarded.length <= 64) return forwarded;
  return socketAddress ?? "unknown";
}
