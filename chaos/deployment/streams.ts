/**
 * The streams as the README tells operators of a cluster to create them before the first start:
 * SESSIONS (`session.>`, a duplicate window of at least 10 minutes) and USERS (`user.>`), both with
 * 3 replicas (the service would create a missing one with a single replica).
 */
import { type JetStreamManager, nanos } from "nats";

export const SESSIONS = "SESSIONS";
export const USERS = "USERS";
const DUPLICATE_WINDOW_MS = 10 * 60_000;

export async function createStreams(jsm: JetStreamManager, replicas = 3): Promise<void> {
  await jsm.streams.add({
    name: SESSIONS,
    subjects: ["session.>"],
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: replicas,
  });
  await jsm.streams.add({ name: USERS, subjects: ["user.>"], num_replicas: replicas });
}

/** The server name of the stream's current leader, or null while it has none (or NATS does not answer). */
export async function streamLeader(jsm: JetStreamManager, stream = SESSIONS): Promise<string | null> {
  try {
    return (await jsm.streams.info(stream)).cluster?.leader ?? null;
  } catch {
    return null;
  }
}
