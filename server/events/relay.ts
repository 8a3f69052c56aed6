/**
 * Outbox → JetStream. Rows are published in commit order, pipelined in batches, each with
 * Nats-Msg-Id = event id so JetStream drops the duplicates a retry or a crash can cause; a row is
 * marked sent only after its PubAck (a duplicate ack counts). One instance at a time relays (a
 * store lease), and a batch never holds two events of one session, so `created` is acknowledged
 * before `revoked` is sent.
 */
import { randomUUID } from "node:crypto";
import type { JetStreamClient } from "nats";
import type { Leases, Outbox, OutboxRow } from "../core/ports";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { NatsLink } from "./nats-link";
import { ensureStream, SESSIONS_STREAM } from "./streams";

export interface RelayOptions {
  batchSize?: number;
  /** How often an idle relay looks for rows written by other processes (sessionctl, other instances). */
  pollMs?: number;
  publishTimeoutMs?: number;
  /** How long the relay lease lasts (default 5 s): after a crash another instance takes over after this. */
  leaseTtlMs?: number;
  /** Fault injection for crash tests: runs after a batch's PubAcks, before the rows are marked sent. */
  afterPublish?: () => void;
}

const LEASE = "outbox-relay";
const MAX_BACKOFF_MS = 5_000;

/** The longest prefix of `rows` that holds at most one event per session. */
export function batchOnePerSession(rows: OutboxRow[]): Array<{ row: OutboxRow; sessionId: string }> {
  const seen = new Set<string>();
  const batch: Array<{ row: OutboxRow; sessionId: string }> = [];
  for (const row of rows) {
    const sessionId = (JSON.parse(row.payload) as { subject: string }).subject;
    if (seen.has(sessionId)) break;
    seen.add(sessionId);
    batch.push({ row, sessionId });
  }
  return batch;
}

export class OutboxRelay {
  private readonly owner = randomUUID();
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly publishTimeoutMs: number;
  private readonly leaseTtlMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  private streamReady = false;
  /** Until when we hold the relay lease; renewed at half-life rather than every pass (one write less per batch). */
  private leaseUntil = 0;

  constructor(
    private readonly store: { outbox: Outbox; leases: Leases },
    private readonly link: NatsLink,
    private readonly logger: Logger,
    private readonly options: RelayOptions = {},
    private readonly metrics?: Metrics,
  ) {
    this.batchSize = options.batchSize ?? 2048;
    this.pollMs = options.pollMs ?? 500;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    // Short, so that after a crash another instance (or the restarted one) takes over within seconds.
    this.leaseTtlMs = options.leaseTtlMs ?? 5_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called after a commit that wrote events: relay now instead of at the next poll. */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /** Stops the loop after relaying what it can within `graceMs`. */
  async stop(graceMs = 2_000): Promise<void> {
    if (!this.running) return;
    const deadline = Date.now() + graceMs;
    while (
      Date.now() < deadline &&
      this.link.status() === "connected" &&
      (await this.store.outbox.pendingEvents(1)).length > 0
    ) {
      this.wake();
      await Bun.sleep(20);
    }
    this.running = false;
    this.wake();
    await this.loop;
    await this.store.leases.releaseLease(LEASE, this.owner).catch(() => {});
  }

  private async idle(ms: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = null;
    this.pendingWake = false;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      try {
        const moved = await this.pass();
        backoff = 100;
        if (moved === 0) await this.idle(this.pollMs);
      } catch (err) {
        this.metrics?.relayPublishFailures.inc();
        this.streamReady = false;
        this.leaseUntil = 0;
        this.logger.warn({ err: { message: (err as Error).message } }, "outbox relay pass failed; retrying");
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** One batch. Returns how many rows were marked sent (0: nothing to do or not our turn). */
  private async pass(): Promise<number> {
    if (this.link.status() !== "connected") return 0;
    if (!(await this.holdLease())) return 0;
    const rows = await this.store.outbox.pendingEvents(this.batchSize);
    if (rows.length === 0) return 0;
    const deadline = this.publishDeadlineMs();
    if (deadline <= 0) return 0;
    const jet = await this.link.jetstream(deadline);
    if (!jet) return 0;
    if (!this.streamReady) {
      await ensureStream(jet.jsm, SESSIONS_STREAM.name, SESSIONS_STREAM.subjects);
      this.streamReady = true;
    }
    return this.publish(
      jet.js,
      batchOnePerSession(rows).map((entry) => entry.row),
    );
  }

  private async holdLease(): Promise<boolean> {
    const now = Date.now();
    if (this.leaseUntil - now > this.leaseTtlMs / 2) return true;
    const held = await this.store.leases.acquireLease(LEASE, this.owner, this.leaseTtlMs, now);
    this.leaseUntil = held ? now + this.leaseTtlMs : 0;
    return held;
  }

  /**
   * The lease fences the publishes: a pass stops waiting for PubAcks a fifth of the lease before
   * it could expire, so it has given up before another instance can take the lease over (a frozen
   * node or a stream without a leader would otherwise hold it for the whole publish timeout while
   * a second relay publishes too). A message already sent may still be stored later; its
   * Nats-Msg-Id makes the other relay's copy of it a duplicate that JetStream drops. Every
   * JetStream request of a pass (stream check, publishes) is bounded this way.
   */
  private publishDeadlineMs(): number {
    const fenceMargin = Math.max(100, this.leaseTtlMs / 5);
    return Math.min(this.publishTimeoutMs, this.leaseUntil - fenceMargin - Date.now());
  }

  private async publish(js: JetStreamClient, rows: OutboxRow[]): Promise<number> {
    const timeout = this.publishDeadlineMs();
    if (timeout <= 0) return 0;
    const acks = await Promise.allSettled(
      rows.map((row) =>
        js.publish(row.subject, row.payload, {
          msgID: row.id,
          expect: { streamName: SESSIONS_STREAM.name },
          timeout,
        }),
      ),
    );
    // A batch holds one event per session, so marking every acknowledged row keeps per-session order:
    // a failed row is retried before the next event of its session is ever taken.
    this.options.afterPublish?.();
    const sent = rows.filter((_, i) => acks[i].status === "fulfilled").map((row) => row.id);
    await this.store.outbox.markEventsSent(sent, Date.now());
    if (sent.length < rows.length) {
      const failure = acks.find((ack) => ack.status === "rejected") as PromiseRejectedResult;
      throw failure.reason;
    }
    return sent.length;
  }
}
