/**
 * The store gauges of /metrics (sessions_active, outbox_pending_events,
 * outbox_oldest_pending_age_seconds) come from a background pass every STORE_STATS_INTERVAL
 * (default 15 s), never from a scrape: counting sessions is a scan of the whole table, and an
 * unauthenticated GET /metrics must not be able to run one per request (issue 12, finding 2). A
 * scrape only reads the last result. Passes never overlap: the next is scheduled when one ends.
 *
 * On a SQLite file the count runs in a worker thread on a read-only connection of its own
 * (store-stats-worker.ts): bun:sqlite is synchronous, and on the server's thread a scan of a
 * million rows would stall every request for most of a second. PostgreSQL and Redis do the work
 * in their own process; the server only awaits the answer.
 */
import type { Config } from "../config";
import type { StoreAdmin, StoreStats } from "../core/ports";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import type { StatsWorkerReply, StatsWorkerRequest } from "./store-stats-worker";

export interface StatsSource {
  collect(now: number): Promise<StoreStats>;
  close(): Promise<void>;
}

/** How long close() waits for the worker to close its connection before terminating it. */
const STOP_WAIT_MS = 1000;

/** Statistics computed in a worker thread over its own read-only connection to the SQLite file. */
export class WorkerStatsSource implements StatsSource {
  private readonly worker = new Worker(new URL("./store-stats-worker.ts", import.meta.url));
  private pending: { resolve(stats: StoreStats): void; reject(error: Error): void } | null = null;
  private stopped: () => void = () => {};

  constructor(settings: Config) {
    // The worker must never keep a finished process alive.
    this.worker.unref();
    this.worker.onmessage = (message: MessageEvent<StatsWorkerReply>) => {
      const reply = message.data;
      if ("stopped" in reply) return this.stopped();
      const pending = this.pending;
      this.pending = null;
      if ("stats" in reply) pending?.resolve(reply.stats);
      else pending?.reject(new Error(reply.error));
    };
    this.worker.onerror = (event) => {
      this.pending?.reject(new Error(event.message || "the statistics worker failed"));
      this.pending = null;
    };
    this.post({
      open: {
        databaseUrl: settings.databaseUrl,
        sqliteSynchronous: settings.sqliteSynchronous,
        sqliteBusyTimeoutMs: settings.sqliteBusyTimeoutMs,
      },
    });
  }

  private post(request: StatsWorkerRequest): void {
    this.worker.postMessage(request);
  }

  collect(now: number): Promise<StoreStats> {
    if (this.pending) return Promise.reject(new Error("a statistics pass is already running"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.post({ collect: now });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.stopped = resolve));
    this.post("stop");
    await Promise.race([closed, Bun.sleep(STOP_WAIT_MS)]);
    this.worker.terminate();
  }
}

/** Where the statistics come from: a worker for a SQLite file, the store itself otherwise. */
export function statsSourceFor(config: Config, admin: StoreAdmin): StatsSource {
  const sqliteFile = config.databaseUrl.startsWith("sqlite:") && config.databaseUrl !== "sqlite::memory:";
  if (sqliteFile) return new WorkerStatsSource(config);
  return { collect: (now) => admin.stats(now), close: async () => {} };
}

/** Runs a pass now and then every `everyMs` after the previous one ended; returns the stop. */
export function startStoreStats(
  source: StatsSource,
  metrics: Metrics,
  everyMs: number,
  logger: Logger,
): () => Promise<void> {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    try {
      metrics.showStoreStats(await source.collect(Date.now()));
    } catch (err) {
      logger.warn(
        { err: { message: (err as Error).message } },
        "store statistics failed; the gauges keep their last values",
      );
    }
    if (!stopped) timer = setTimeout(() => (running = pass()), everyMs);
  };
  running = pass();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
    await source.close();
  };
}
