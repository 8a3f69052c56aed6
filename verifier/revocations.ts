/** The deny list fed by the revocation stream, and what `verify` asks of it. */
import { DenyList } from "./deny-list.js";
import type { RevocationState, Settings } from "./options.js";
import { readRevocation } from "./revocation-event.js";
import { RevocationFeed } from "./revocation-feed.js";

export class Revocations {
  private readonly denied = new DenyList();
  private readonly feed: RevocationFeed | null;
  /** Events that could not be read completely (skipped, or applied without their expiry). */
  malformed = 0;

  constructor(private readonly settings: Settings) {
    this.feed = settings.nats
      ? new RevocationFeed(
          settings.nats,
          settings.heartbeatMs,
          settings.lookbackSeconds,
          (seq, data) => this.apply(seq, data),
          settings.onEvent,
          settings.now,
        )
      : null;
  }

  start(): Promise<void> {
    return this.feed ? this.feed.start() : Promise.resolve();
  }

  private apply(seq: number, data: Uint8Array): void {
    const now = this.settings.now();
    const revocation = readRevocation(
      data,
      now,
      this.settings.toleranceSeconds * 1000,
      this.settings.lookbackSeconds * 1000,
    );
    if (!revocation?.complete) {
      this.malformed++;
      this.settings.onEvent({ type: "malformed_event", sequence: seq });
    }
    // Already past: every token of that session has expired anyway, nothing to remember.
    if (revocation && revocation.untilMs > now) this.denied.add(revocation.sessionId, revocation.untilMs);
  }

  denies(sessionId: string, now: number): boolean {
    return this.denied.has(sessionId, now);
  }

  /** With failClosedAfterMs: revocations not live for longer than that (an outage lasts until caught up again). */
  failedClosed(): boolean {
    const limit = this.settings.failClosedAfterMs;
    const since = this.feed?.notLiveSinceMs ?? null;
    return limit !== null && since !== null && this.feed!.state !== "live" && performance.now() - since > limit;
  }

  sweep(now: number): void {
    this.denied.sweep(now);
  }

  get state(): RevocationState {
    return this.feed ? this.feed.state : "disabled";
  }

  get tracked(): number {
    return this.denied.size;
  }

  get lagMs(): number | null {
    return this.feed ? Math.round(this.feed.silentForMs()) : null;
  }

  close(): Promise<void> {
    return this.feed ? this.feed.close() : Promise.resolve();
  }
}
