import { type JetStreamManager, nanos } from "nats";

/** The stream of our events; its duplicate window covers every retry of the relay. */
export const SESSIONS_STREAM = { name: "SESSIONS", subjects: ["session.>"] };
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/** JetStream API error codes (the server's `err_code`), which stay fixed where the texts may change. */
export const JS_ERROR = {
  consumerNotFound: 10014,
  streamNameInUse: 10058,
  streamNotFound: 10059,
} as const;

/** The JetStream API error code of a failed request, or null when it is not such an error. */
export function jetStreamCode(error: unknown): number | null {
  const code = (error as { api_error?: { err_code?: unknown } } | null)?.api_error?.err_code;
  return typeof code === "number" ? code : null;
}

/** Creates the stream if it is missing; an existing one is left as its operators configured it. */
export async function ensureStream(jsm: JetStreamManager, name: string, subjects: string[]): Promise<void> {
  try {
    await jsm.streams.info(name);
    return;
  } catch (error) {
    if (jetStreamCode(error) !== JS_ERROR.streamNotFound) throw error;
  }
  try {
    await jsm.streams.add({ name, subjects, duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
  } catch (raced) {
    // Another instance created it a moment ago (with other settings: an identical add succeeds).
    if (jetStreamCode(raced) !== JS_ERROR.streamNameInUse) throw raced;
  }
}

/**
 * Whether a nats-server reads `+TERM <reason>` (2.10.4 and later). An older one ignores the whole
 * acknowledgement, so the message would come back: it gets a plain `+TERM` instead.
 */
export function termTakesReason(serverVersion: string | undefined): boolean {
  const [major = 0, minor = 0, patch = 0] = (serverVersion ?? "").split(/[.-]/).map((part) => Number(part) || 0);
  return major > 2 || (major === 2 && (minor > 10 || (minor === 10 && patch >= 4)));
}
