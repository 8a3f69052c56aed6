/** Wires the event side of the server: one NATS link, the outbox relay and the user.deleted consumer. */

import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { Core } from "../open-core";
import type { LinkStatus } from "./nats-link";
import type { RelayOptions } from "./relay";
import type { UserDeletedOptions } from "./user-deleted-consumer";

export interface Events {
  status(): LinkStatus;
  /** Relays what it can within `graceMs`, then closes the link. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * `consumerOptions`: delays and bounds of the user.deleted consumer (tests shorten them). Without
 * NATS_URL nothing of NATS is even loaded: nats.js costs about 50 ms of CPU to load, a tenth of a
 * start.
 */
export async function startEvents(
  core: Core,
  logger: Logger,
  metrics?: Metrics,
  relayOptions: RelayOptions = {},
  consumerOptions: Partial<UserDeletedOptions> = {},
): Promise<Events> {
  const { natsUrl, userEventsStream, userDeletedSubject, userDeletedSources } = core.config;
  if (!natsUrl) {
    return { status: () => "disabled", stop: async () => {} };
  }
  const [{ NatsLink }, { OutboxRelay }, { UserDeletedConsumer }] = await Promise.all([
    import("./nats-link"),
    import("./relay"),
    import("./user-deleted-consumer"),
  ]);
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
