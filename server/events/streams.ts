import { type JetStreamManager, nanos } from "nats";

/** The stream of our events; its duplicate window covers every retry of the relay. */
export const SESSIONS_STREAM = { name: "SESSIONS", subjects: ["session.>"] };
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** Creates the stream if it is missing; an existing one is left as its operators configured it. */
export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!String((error as Error).message).includes("stream not found")) throw error;
    try {
      await jsm.streams.add({ name, subjects, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
    } catch (raced) {
      // Another instance created it a moment ago.
      if (!String((raced as Error).message).includes("already in use")) throw raced;
    }
  }
}
