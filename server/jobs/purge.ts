/**
 * Ended sessions, relayed events and expired DPoP proof ids are deleted on a schedule
 * (PURGE_AFTER, default 30 d after they ended), not only by `sessionctl purge`: a user's every
 * past session would otherwise stay in the store for ever (issue 12, finding 7). One instance at a
 * time (a store lease), in small batches with pauses, never overlapping itself.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../logger";
import type { Core } from "../open-core";

const LEASE = "purge";
const BATCH = 1000;

export interface PurgeSchedule {
  /** How long after its end a session is deleted. */
  afterMs: number;
  /** How often a pass runs. */
  everyMs: number;
}

export function startPurgeSchedule(core: Core, schedule: PurgeSchedule, logger: Logger): () => void {
  const owner = randomUUID();
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      // The lease outlives a pass by far; it only keeps two instances from purging at once.
      if (!(await core.store.leases.acquireLease(LEASE, owner, schedule.everyMs, core.clock.now()))) return;
      const { total } = await core.admin.purge(schedule.afterMs, BATCH);
      if (total.sessions + total.events > 0) {
        logger.info({ sessions: total.sessions, events: total.events }, "purged ended sessions and relayed events");
      }
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message } }, "scheduled purge failed; next pass retries");
    } finally {
      running = false;
    }
  };
  const first = setTimeout(pass, Math.min(schedule.everyMs, 10_000));
  const timer = setInterval(pass, schedule.everyMs);
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
