/**
 * Watches events arrive while the run goes on (a plain subscription on `session.>`, which sees
 * every message the relay publishes to the stream), to tell when events flow again after a fault.
 * Only timing comes from here; the check of every event reads the stream itself at the end.
 */
import type { NatsConnection, Subscription } from "nats";

export interface SeenEvent {
  /** The CloudEvents `time` (when the change was made), ms. */
  time: number;
  /** When this program received it, ms. */
  received: number;
}

export class EventWatch {
  readonly seen: SeenEvent[] = [];
  private readonly subscription: Subscription;

  constructor(nc: NatsConnection) {
    this.subscription = nc.subscribe("session.>");
    void this.read();
  }

  private async read(): Promise<void> {
    for await (const message of this.subscription) {
      try {
        const time = Date.parse(JSON.parse(new TextDecoder().decode(message.data)).time);
        if (Number.isFinite(time)) this.seen.push({ time, received: Date.now() });
      } catch {
        // Not an event of ours: the final check reports anything wrong in the stream.
      }
    }
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}
