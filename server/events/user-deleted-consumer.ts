/**
 * Consumes `user.deleted` from stream USERS with the durable consumer `session-service`: revoke
 * every session of the user and mark them deleted, then ack (only after the commit). Unreadable
 * payloads are terminated; a store that is unavailable gets a delayed nak. The loop re-consumes
 * after any error, NATS restart or missed heartbeats, so it never stalls silently.
 */
import { AckPolicy, DeliverPolicy, type JsMsg, nanos } from "nats";
import { isServiceError } from "../core/errors";
import type { SessionService } from "../core/sessions";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { NatsLink } from "./nats-link";
import { ensureStream } from "./streams";
import { userIdOf } from "./user-deleted-payload";

export interface UserDeletedOptions {
  stream: string;
  subject: string;
  durable: string;
}

export const USER_DELETED_DEFAULTS: UserDeletedOptions = {
  stream: "USERS",
  subject: "user.deleted",
  durable: "session-service",
};
const NAK_DELAY_MS = 2_000;

export class UserDeletedConsumer {
  private running = false;
  private loop: Promise<void> | null = null;
  private stopCurrent: (() => void) | null = null;

  constructor(
    private readonly sessions: SessionService,
    private readonly link: NatsLink,
    private readonly logger: Logger,
    private readonly options: UserDeletedOptions = USER_DELETED_DEFAULTS,
    private readonly metrics?: Metrics,
  ) {}

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
    await jet.jsm.consumers.info(stream, durable).catch(() =>
      jet.jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: subject,
        ack_wait: nanos(30_000),
      }),
    );
    const consumer = await jet.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 64, idle_heartbeat: 5_000 });
    this.stopCurrent = () => void messages.stop();
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
    const userId = userIdOf(message.data);
    if (userId === null) {
      this.metrics?.userDeletedMessages.inc({ result: "terminated" });
      this.logger.warn(
        { subject: message.subject, seq: message.seq },
        "user.deleted payload not understood; terminated",
      );
      message.term();
      return;
    }
    try {
      const revoked = await this.sessions.deleteUser(userId);
      await message.ackAck();
      this.metrics?.userDeletedMessages.inc({ result: "handled" });
      this.logger.info({ revoked }, "user deleted; sessions revoked");
    } catch (err) {
      this.metrics?.userDeletedMessages.inc({ result: "nak" });
      this.logger.warn(
        { err: isServiceError(err) ? { code: err.code } : { message: (err as Error).message } },
        "user.deleted not handled; nak",
      );
      message.nak(NAK_DELAY_MS);
    }
  }
}
