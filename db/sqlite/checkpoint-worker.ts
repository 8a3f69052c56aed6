/**
 * Worker thread of checkpointer.ts: its own connection to the database, copying the WAL into the
 * database file with a PASSIVE checkpoint every intervalMs. Messages: first the settings (answered
 * once the connection is open, or could not be), then "stop" (closes the connection and answers
 * { stopped }; the main thread then terminates the worker — process.exit here would end the whole
 * process in Bun).
 */
import { Database } from "bun:sqlite";
import type { CheckpointSettings } from "./checkpointer";

declare const self: Worker;

let db: Database | null = null;
let timer: ReturnType<typeof setInterval> | undefined;

function start({ path, synchronous, busyTimeoutMs, intervalMs }: CheckpointSettings): void {
  try {
    db = new Database(path, { strict: true });
    db.run(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    // The checkpoint's fsyncs follow the store's durability setting.
    db.run(`PRAGMA synchronous = ${synchronous}`);
  } catch {
    self.postMessage({ started: false });
    return;
  }
  const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  timer = setInterval(() => {
    try {
      checkpoint.run();
    } catch {
      // Nothing to do here: the store's own connection meets any real I/O error itself, and its
      // automatic checkpoint still copies whatever this one could not.
    }
  }, intervalMs);
  self.postMessage({ started: true });
}

self.onmessage = (message: MessageEvent<CheckpointSettings | "stop">) => {
  if (message.data !== "stop") return start(message.data);
  clearInterval(timer);
  db?.close();
  self.postMessage({ stopped: true });
};
