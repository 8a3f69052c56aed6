/**
 * The service's one NATS connection. It connects in the background and reconnects forever, so
 * NATS being away never blocks start-up or a request; the relay and the consumer wait for it.
 */
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import type { Logger } from "../logger";

export type LinkStatus = "disabled" | "connecting" | "connected" | "disconnected";

export class NatsLink {
  private connection: NatsConnection | null = null;
  private state: LinkStatus = "connecting";
  private closed = false;
  private readonly ready: Promise<NatsConnection | null>;

  constructor(
    readonly url: string,
    private readonly logger: Logger,
  ) {
    this.ready = this.open();
  }

  private async open(): Promise<NatsConnection | null> {
    try {
      const nc = await connect({
        // NATS_URL may list several servers of a cluster, comma-separated: nats.js wants an array.
        servers: this.url
          .split(",")
          .map((server) => server.trim())
          .filter(Boolean),
        name: "session-service",
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 5_000,
        maxPingOut: 2,
      });
      if (this.closed) {
        await nc.close();
        return null;
      }
      this.connection = nc;
      this.state = "connected";
      this.logger.info("connected to NATS");
      void this.watch(nc);
      return nc;
    } catch (err) {
      if (!this.closed) this.logger.error({ err }, "NATS connection failed");
      return null;
    }
  }

  private async watch(nc: NatsConnection) {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") {
        this.state = "disconnected";
        this.logger.warn("NATS disconnected; events wait in the outbox");
      } else if (status.type === "reconnect") {
        this.state = "connected";
        this.logger.info("NATS reconnected");
      }
    }
  }

  status(): LinkStatus {
    return this.state;
  }

  /** The connection once it exists (null after close). */
  async connected(): Promise<NatsConnection | null> {
    return this.ready;
  }

  /**
   * JetStream handles whose API requests wait at most `timeoutMs`. The manager skips nats.js's
   * account check (one more request, which could wait on a frozen server): a JetStream that is
   * off fails the first real request just as clearly.
   */
  async jetstream(timeoutMs = 5_000): Promise<{ js: JetStreamClient; jsm: JetStreamManager } | null> {
    const nc = await this.ready;
    if (!nc || nc.isClosed()) return null;
    const options = { timeout: timeoutMs, checkAPI: false };
    return { js: nc.jetstream(options), jsm: await nc.jetstreamManager(options) };
  }

  async close(): Promise<void> {
    this.closed = true;
    const nc = this.connection;
    this.connection = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
