/**
 * Worker thread of store-stats.ts: opens the SQLite store read-only (it writes, migrates and
 * creates nothing) and answers each { collect: now } with the store's statistics, so the full-table
 * counts never run on the server's event loop. "stop" closes the connection and answers
 * { stopped }; the main thread then terminates the worker (process.exit here would end the whole
 * process in Bun).
 */
import { openStore, type StoreSettings } from "../../db/open-store";
import type { SessionStore, StoreStats } from "../core/ports";

export type StatsWorkerRequest =
  | { open: Pick<StoreSettings, "databaseUrl" | "sqliteSynchronous" | "sqliteBusyTimeoutMs"> }
  | { collect: number }
  | "stop";
export type StatsWorkerReply = { stats: StoreStats } | { error: string } | { stopped: true };

declare const self: Worker;

let store: Promise<SessionStore> | null = null;
const reply = (message: StatsWorkerReply) => self.postMessage(message);

self.onmessage = async (message: MessageEvent<StatsWorkerRequest>) => {
  const request = message.data;
  if (request === "stop") {
    await store?.then((opened) => opened.close()).catch(() => {});
    return reply({ stopped: true });
  }
  if ("open" in request) {
    store = openStore(request.open, { readOnly: true });
    // An open that failed is reported by the next collect.
    store.catch(() => {});
    return;
  }
  try {
    if (!store) throw new Error("the statistics worker has no store");
    reply({ stats: await (await store).admin.stats(request.collect) });
  } catch (error) {
    reply({ error: error instanceof Error ? error.message : String(error) });
  }
};
