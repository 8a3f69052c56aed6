/**
 * Reads `session.revoked` from JetStream into the verifier, in stream order, without leaving durable
 * state on the server: an ephemeral push consumer (memory storage, no acks, removed by the server
 * once nobody listens) that this class replaces whenever it cannot trust it — after a reconnect,
 * a gap in the delivery sequence, or three missed idle heartbeats. Each replacement starts at the
 * stream sequence after the last one applied, so an outage or a nats-server restart costs nothing
 * but the time to catch up. nats.js's own ordered consumer does the same internally but hides its
 * heartbeats and cursor, which `lagMs`, `catching_up` and the resume rule need.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  connect,
  createInbox,
  DeliverPolicy,
  Events,
  isFlowControlMsg,
  isHeartbeatMsg,
  type JetStreamManager,
  type Msg,
  type NatsConnection,
  type NatsError,
  nanos,
  ReplayPolicy,
  type Subscription,
} from "nats";
import type { RevocationState, Settings, VerifierEvent } from "./options.js";
import { cancellableSleep } from "./timers.js";

type FeedState = Exclude<RevocationState, "disabled">;

/** Stream and delivery sequences and what is left, from a JetStream delivery's reply subject. */
export function deliveryInfo(reply: string | undefined): { sseq: number; dseq: number; pending: number } | null {
  if (!reply?.startsWith("$JS.ACK.")) return null;
  const tokens = reply.split(".");
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>, or with <domain>.<account hash> after ACK.
  const at = tokens.length === 9 ? 5 : tokens.length >= 11 ? 7 : -1;
  if (at < 0) return null;
  const [sseq, dseq, , pending] = tokens.slice(at, at + 4).map(Number) as [number, number, number, number];
  return Number.isInteger(sseq) && Number.isInteger(dseq) && Number.isInteger(pending) ? { sseq, dseq, pending } : null;
}

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2_000;
/** The server removes our consumer this long after we stopped listening (crash, outage). */
const INACTIVE_THRESHOLD_MS = 30_000;
const CLOSE_DELETE_WAIT_MS = 500;

export class RevocationFeed {
  private feedState: FeedState | "connecting" = "connecting";
  private closed = false;
  private nc: NatsConnection | null = null;
  private jsm: JetStreamManager | null = null;
  private sub: Subscription | null = null;
  private consumerName: string | null = null;
  /** Bumped on every consumer replacement: deliveries of an older one are ignored. */
  private generation = 0;
  private expectedDeliverySeq = 1;
  private consumerReady = false;
  private sawNothingPending = false;
  /** The stream sequence of the last delivery applied: where a new consumer starts. */
  private lastStreamSeq = 0;
  private streamCreated: string | null = null;
  private lastHeardAt = performance.now();
  private outageSince: number | null = performance.now();
  private resubscribing = false;
  private resubscribeAgain = false;
  private readonly retry = cancellableSleep();
  private readonly resubscribeRetry = cancellableSleep();
  private readonly monitor: ReturnType<typeof setInterval>;
  private settle: () => void = () => {};
  private readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    private readonly nats: NonNullable<Settings["nats"]>,
    private readonly heartbeatMs: number,
    private readonly lookbackSeconds: number,
    private readonly apply: (streamSeq: number, data: Uint8Array) => void,
    private readonly onEvent: (event: VerifierEvent) => void,
    private readonly now: () => number,
  ) {
    // Three heartbeats without a word from a consumer that should be talking: it is gone or stuck.
    this.monitor = setInterval(() => {
      if (this.consumerReady && this.feedState !== "disconnected" && this.silentForMs() > 3 * this.heartbeatMs) {
        this.toState("disconnected");
        this.requestResubscribe();
      }
    }, this.heartbeatMs);
  }

  /** Connects and reads up to now; resolves when live, or once NATS or the stream turned out to be missing. */
  start(): Promise<void> {
    void this.connectLoop();
    return this.settled;
  }

  get state(): FeedState {
    return this.feedState === "connecting" ? "disconnected" : this.feedState;
  }

  /** Since when revocations have not been live (null while live): what fail-closed measures. */
  get notLiveSinceMs(): number | null {
    return this.outageSince;
  }

  silentForMs(): number {
    return performance.now() - this.lastHeardAt;
  }

  private toState(next: FeedState): void {
    if (next === "live") this.outageSince = null;
    else if (next === "disconnected") this.outageSince ??= performance.now();
    if (next === "live" || next === "disconnected") this.settle();
    if (this.feedState === next) return;
    this.feedState = next;
    this.onEvent({ type: "revocations", state: next });
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const nc = await connect({
          name: "session-verifier",
          ...this.nats.connection,
          servers: this.nats.servers,
          waitOnFirstConnect: false,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          timeout: 2_000,
          pingInterval: 5_000,
          maxPingOut: 2,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.jsm = await nc.jetstreamManager({ checkAPI: false });
        void this.watch(nc);
        this.requestResubscribe();
        return;
      } catch {
        this.toState("disconnected");
        await this.retry.sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt));
      }
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    void nc.closed().then(() => {
      // Closed by the client itself (an auth error, a protocol error): start over with a new connection.
      if (this.closed || this.nc !== nc) return;
      this.nc = null;
      this.jsm = null;
      this.dropConsumer();
      this.toState("disconnected");
      void this.connectLoop();
    });
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.consumerReady = false;
        this.toState("disconnected");
      } else if (status.type === Events.Reconnect) {
        // The consumer may be gone (a restarted nats-server forgets memory consumers): a new one from our cursor.
        this.requestResubscribe();
      }
    }
  }

  private requestResubscribe(): void {
    if (this.closed) return;
    if (this.resubscribing) {
      this.resubscribeAgain = true;
      return;
    }
    this.resubscribing = true;
    void (async () => {
      do {
        this.resubscribeAgain = false;
        try {
          await this.resubscribe();
        } catch {
          // JetStream not answering, the stream missing: not a feed we can trust; try again shortly.
          this.dropConsumer();
          this.toState("disconnected");
          void this.resubscribeRetry.sleep(1_000).then((elapsed) => elapsed && this.requestResubscribe());
        }
      } while (this.resubscribeAgain && !this.closed);
      this.resubscribing = false;
    })();
  }

  private async resubscribe(): Promise<void> {
    const { nc, jsm } = this;
    if (!nc || !jsm || nc.isClosed() || this.closed) return;
    this.dropConsumer();
    // Connected again, not yet caught up: `live` only once the new consumer has nothing pending.
    this.toState("catching_up");
    const info = await jsm.streams.info(this.nats.stream);
    const sameStream = this.streamCreated === null || this.streamCreated === info.created;
    const start: Partial<ConsumerConfig> =
      this.lastStreamSeq > 0 && sameStream && info.state.last_seq >= this.lastStreamSeq
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastStreamSeq + 1 }
        : // First start, or the stream was recreated under the same name: read the lookback (from now:
          // older revocations concern tokens that have expired anyway).
          {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(this.now() - this.lookbackSeconds * 1000).toISOString(),
          };
    this.streamCreated = info.created;

    const generation = ++this.generation;
    const inbox = createInbox(this.nats.connection.inboxPrefix);
    this.expectedDeliverySeq = 1;
    this.sawNothingPending = false;
    this.sub = nc.subscribe(inbox, { callback: (error, msg) => this.onDelivery(generation, error, msg) });
    const consumer = await jsm.consumers.add(this.nats.stream, {
      ...start,
      deliver_subject: inbox,
      filter_subject: this.nats.subject,
      ack_policy: AckPolicy.None,
      replay_policy: ReplayPolicy.Instant,
      flow_control: true,
      idle_heartbeat: nanos(this.heartbeatMs),
      inactive_threshold: nanos(Math.max(INACTIVE_THRESHOLD_MS, 5 * this.heartbeatMs)),
      mem_storage: true,
      num_replicas: 1,
      description: "session verifier (ephemeral)",
    });
    if (generation !== this.generation || this.closed) {
      void jsm.consumers.delete(this.nats.stream, consumer.name).catch(() => {});
      return;
    }
    this.consumerName = consumer.name;
    this.consumerReady = true;
    this.lastHeardAt = performance.now();
    this.toState(consumer.num_pending === 0 || this.sawNothingPending ? "live" : "catching_up");
  }

  private onDelivery(generation: number, error: NatsError | null, msg: Msg): void {
    if (generation !== this.generation || this.closed) return;
    if (error) {
      this.requestResubscribe();
      return;
    }
    this.lastHeardAt = performance.now();
    if (isFlowControlMsg(msg)) {
      if (isHeartbeatMsg(msg)) {
        const stalled = msg.headers?.get("Nats-Consumer-Stalled");
        if (stalled) this.nc?.publish(stalled);
        // The server says it delivered more than we received: a gap, start again from our cursor.
        const lastDelivered = Number(msg.headers?.get("Nats-Last-Consumer") || 0);
        if (lastDelivered >= this.expectedDeliverySeq) this.requestResubscribe();
      } else if (msg.reply) {
        msg.respond(); // flow control: ready for more
      }
      return;
    }
    const info = deliveryInfo(msg.reply);
    if (!info) return;
    if (info.dseq !== this.expectedDeliverySeq) {
      if (info.dseq > this.expectedDeliverySeq) this.requestResubscribe();
      return;
    }
    this.expectedDeliverySeq++;
    this.lastStreamSeq = info.sseq;
    this.apply(info.sseq, msg.data);
    if (info.pending === 0) {
      if (this.consumerReady) this.toState("live");
      else this.sawNothingPending = true;
    }
  }

  /** Stops listening to the current consumer and asks the server to remove it (best effort). */
  private dropConsumer(): Promise<void> {
    this.generation++;
    this.consumerReady = false;
    this.sub?.unsubscribe();
    this.sub = null;
    const name = this.consumerName;
    this.consumerName = null;
    const { jsm, nc } = this;
    if (!name || !jsm || !nc || nc.isClosed()) return Promise.resolve();
    return jsm.consumers.delete(this.nats.stream, name).then(
      () => {},
      () => {},
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.monitor);
    this.retry.cancel();
    this.resubscribeRetry.cancel();
    const deleted = this.dropConsumer();
    const wait = cancellableSleep();
    await Promise.race([deleted, wait.sleep(CLOSE_DELETE_WAIT_MS)]);
    wait.cancel();
    const nc = this.nc;
    this.nc = null;
    this.jsm = null;
    if (nc && !nc.isClosed()) await nc.close().catch(() => {});
    this.settle();
  }
}
