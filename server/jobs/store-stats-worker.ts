/**
 * Worker thread of store-stats.ts: opens the SQLite store read-only (it writes, migrates and
 * creates nothing) on the first { collect: now } after { open: settings }, and answers each with
 * the store's statistics, so the full-table counts never run on the server's event loop. "stop"
 * closes the connection and answers { stopped }; the main thread then terminates the worker
 * (process.exit here would end the whole process in Bun).
 */
import { openStore, type StoreSettings } from "../../db/open-store";
import type { SessionStore, StoreStats } from "../core/ports";

export type StatsWorkerRequest =
  | { open: Pick<StoreSettings, "databaseUrl" | "sqliteSynchronous" | "sqliteBusyTimeoutMs" | "databasePoolSize"> }
  | { collect: number }
  | "stop";
export type StatsWorkerReply = { stats: StoreStats } | { error: string } | { stopped: true };

declare const self: Worker;

let settings: StoreSettings | null = null;
let store: Promise<SessionStore> | null = null;
const reply = (message: StatsWorkerReply) => self.postMessage(message);

/** The store, opened on first use; an open that failed is tried again on the next pass. */
function opened(): Promise<SessionStore> {
  if (!settings) return Promise.reject(new Error("the statistics worker has no store settings"));
  if (!store) {
    const opening = openStore(settings, { readOnly: true });
    opening.catch(() => {
      if (store === opening) store = null;
    });
    store = opening;
  }
  return store;
}

self.onmessage = async (message: MessageEvent<StatsWorkerRequest>) => {
  const request = message.data;
  if (request === "stop") {
    await store?.then((open) => open.close()).catch(() => {});
    return reply({ stopped: true });
  }
  if ("open" in request) {
    settings = request.open;
    return;
  }
  try {
    reply({ stats: await (await opened()).admin.stats(request.collect) });
  } catch (error) {
    reply({ error: error instanceof Error ? error.message : String(error) });
  }
};
