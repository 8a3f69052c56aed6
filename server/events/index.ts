/** Wires the event side of the server: one NATS link, the outbox relay and the user.deleted consumer. */

import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { Core } from "../open-core";
import { type LinkStatus, NatsLink } from "./nats-link";
import { OutboxRelay, type RelayOptions } from "./relay";
import { UserDeletedConsumer, type UserDeletedOptions } from "./user-deleted-consumer";

export interface Events {
  status(): LinkStatus;
  /** Relays what it can within `graceMs`, then closes the link. */
  stop(graceMs?: number): Promise<void>;
}

/** `consumerOptions`: delays and bounds of the user.deleted consumer (tests shorten them). */
export function startEvents(
  core: Core,
  logger: Logger,
  metrics?: Metrics,
  relayOptions: RelayOptions = {},
  consumerOptions: Partial<UserDeletedOptions> = {},
): Events {
  const { natsUrl, userEventsStream, userDeletedSubject, userDeletedSources } = core.config;
  if (!natsUrl) {
    return { status: () => "disabled", stop: async () => {} };
  }
  const link = new NatsLink(natsUrl, logger);
  const relay = new OutboxRelay(core.store, link, logger, relayOptions, metrics);
  const consumer = new UserDeletedConsumer(
    core.sessions,
    link,
    logger,
    {
      stream: userEventsStream,
      subject: userDeletedSubject,
      durable: "session-service",
      allowedSources: userDeletedSources,
      ...consumerOptions,
    },
    metrics,
  );
  core.sessions.onEventsCommitted = () => relay.wake();
  relay.start();
  consumer.start();
  return {
    status: () => link.status(),
    stop: async (graceMs = 2_000) => {
      await consumer.stop();
      await relay.stop(graceMs);
      await link.close();
    },
  };
}
