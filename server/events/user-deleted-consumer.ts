/**
 * Consumes `user.deleted` from stream USERS with the durable consumer `session-service`: revoke
 * every session of the user and mark them deleted, then ack (only after the commit). Unreadable
 * payloads, and (with allowedSources) CloudEvents from a source not listed, are terminated. A
 * failure (a store that is unavailable) gets a delayed nak, the delay doubling per delivery up to
 * maxNakDelayMs; the delivery that reaches maxDeliveries is terminated with its reason instead, so
 * one message can never loop for ever. JetStream's max_deliver on the consumer is the same bound,
 * kept by the server should a process die mid-message. The loop re-consumes after any error, NATS
 * restart or missed heartbeats, so it never stalls silently.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, type JsMsg, nanos } from "nats";
import { isServiceError } from "../core/errors";
import type { SessionService } from "../core/sessions";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { NatsLink } from "./nats-link";
import { ensureStream, JS_ERROR, jetStreamCode, termTakesReason } from "./streams";
import { readUserDeleted } from "./user-deleted-payload";

export interface UserDeletedOptions {
  stream: string;
  subject: string;
  durable: string;
  /** The first nak's delay; each further one doubles it, up to maxNakDelayMs. */
  nakDelayMs: number;
  maxNakDelayMs: number;
  /** Deliveries of one message before it is terminated (JetStream max_deliver). */
  maxDeliveries: number;
  /** USER_DELETED_SOURCES: the CloudEvents sources believed; null believes every payload. */
  allowedSources: readonly string[] | null;
}

/**
 * 100 deliveries with naks from 2 s doubling to 1 min: a message outlives a store outage of about
 * an hour and a half before it is given up on (and logged at error, to be published again).
 */
export const USER_DELETED_DEFAULTS: UserDeletedOptions = {
  stream: "USERS",
  subject: "user.deleted",
  durable: "session-service",
  nakDelayMs: 2_000,
  maxNakDelayMs: 60_000,
  maxDeliveries: 100,
  allowedSources: null,
};

/** A log field from text someone else sent: bounded, never a whole payload. */
const excerpt = (text: string) => (text.length > 200 ? `${text.slice(0, 200)}…` : text);

/** Creates the durable consumer, or brings an existing one's max_deliver to ours. */
async function ensureConsumer(jsm: JetStreamManager, options: UserDeletedOptions, logger: Logger): Promise<void> {
  const { stream, durable, subject, maxDeliveries } = options;
  let existing: Awaited<ReturnType<JetStreamManager["consumers"]["info"]>>;
  try {
    existing = await jsm.consumers.info(stream, durable);
  } catch (error) {
    if (jetStreamCode(error) !== JS_ERROR.consumerNotFound) throw error;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      ack_wait: nanos(30_000),
      max_deliver: maxDeliveries,
    });
    return;
  }
  if (existing.config.max_deliver !== maxDeliveries) {
    await jsm.consumers.update(stream, durable, { max_deliver: maxDeliveries });
    logger.info({ durable, max_deliver: maxDeliveries }, "user.deleted consumer: max_deliver set");
  }
}

export class UserDeletedConsumer {
  private running = false;
  private loop: Promise<void> | null = null;
  private stopCurrent: (() => void) | null = null;
  private readonly options: UserDeletedOptions;
  private readonly allowedSources: ReadonlySet<string> | null;
  /** Whether the connected nats-server records a termination's reason (see termTakesReason). */
  private termWithReason = false;

  constructor(
    private readonly sessions: SessionService,
    private readonly link: NatsLink,
    private readonly logger: Logger,
    options: Partial<UserDeletedOptions> = {},
    private readonly metrics?: Metrics,
  ) {
    this.options = { ...USER_DELETED_DEFAULTS, ...options };
    this.allowedSources = this.options.allowedSources ? new Set(this.options.allowedSources) : null;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopCurrent?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (this.running) {
      try {
        await this.consumeOnce();
        backoff = 250;
      } catch (err) {
        if (this.running)
          this.logger.warn({ err: { message: (err as Error).message } }, "user.deleted consumer restarting");
        await Bun.sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private async consumeOnce(): Promise<void> {
    const jet = await this.link.jetstream();
    if (!jet) {
      await Bun.sleep(500);
      return;
    }
    const { stream, subject, durable } = this.options;
    // A missing stream is created for the subject's whole family (user.deleted → user.>).
    await ensureStream(jet.jsm, stream, [`${subject.split(".")[0]}.>`]);
    await ensureConsumer(jet.jsm, this.options, this.logger);
    this.termWithReason = termTakesReason((await this.link.connected())?.info?.version);
    const consumer = await jet.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 64, idle_heartbeat: 5_000 });
    this.stopCurrent = () => void messages.stop();
    // A stop() during the setup above found nothing to stop: without this the loop below would
    // wait for a message forever, and so would a shutdown.
    if (!this.running) messages.stop();
    void (async () => {
      for await (const status of await messages.status()) {
        if (status.type === "heartbeats_missed") {
          this.logger.warn("user.deleted consumer missed heartbeats; re-consuming");
          messages.stop();
        }
      }
    })();
    for await (const message of messages) {
      await this.handle(message);
      if (!this.running) break;
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    const payload = readUserDeleted(message.data);
    if (payload === null) return this.terminate(message, "terminated", "payload not understood", {});
    if (this.allowedSources && !(payload.source !== null && this.allowedSources.has(payload.source))) {
      // Plain {"user_id"} payloads name no source: with a list of sources they are refused too.
      const source = payload.source === null ? null : excerpt(payload.source);
      return this.terminate(message, "rejected_source", "source not allowed", { source });
    }
    let revoked: number;
    try {
      revoked = await this.sessions.deleteUser(payload.userId);
    } catch (err) {
      return this.failed(message, err);
    }
    // Committed: the user is deleted whatever becomes of the ack (a redelivery changes nothing).
    this.metrics?.userDeletedMessages.inc({ result: "handled" });
    this.logger.info({ revoked }, "user deleted; sessions revoked");
    try {
      await message.ackAck();
    } catch (err) {
      this.logger.warn(
        { err: { message: (err as Error).message }, seq: message.seq },
        "user.deleted handled but its ack failed; the redelivery will change nothing",
      );
    }
  }

  private failed(message: JsMsg, err: unknown): void {
    const deliveries = message.info.deliveryCount;
    const cause = isServiceError(err) ? err.code : "error";
    const logged = isServiceError(err) ? { code: err.code } : { message: (err as Error).message };
    if (deliveries >= this.options.maxDeliveries) {
      this.terminate(message, "gave_up", `failed ${deliveries} deliveries (${cause})`, { err: logged }, "error");
      return;
    }
    const delay = Math.min(this.options.nakDelayMs * 2 ** (deliveries - 1), this.options.maxNakDelayMs);
    this.metrics?.userDeletedMessages.inc({ result: "nak" });
    this.logger.warn({ err: logged, deliveries, retry_in_ms: delay }, "user.deleted not handled; nak");
    message.nak(delay);
  }

  /** Never delivered again: the log, the metric and (nats-server 2.10.4+) JetStream's advisory say why. */
  private terminate(
    message: JsMsg,
    result: "terminated" | "rejected_source" | "gave_up",
    reason: string,
    fields: Record<string, unknown>,
    level: "warn" | "error" = "warn",
  ): void {
    this.metrics?.userDeletedMessages.inc({ result });
    this.logger[level](
      { ...fields, subject: message.subject, seq: message.seq, deliveries: message.info.deliveryCount, reason },
      `user.deleted terminated: ${reason}`,
    );
    if (this.termWithReason) message.term(reason);
    else message.term();
  }
}
