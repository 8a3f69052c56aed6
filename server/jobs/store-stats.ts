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
import { sqlitePath, storeKind } from "../../db/open-store";
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

/**
 * Statistics computed in a worker thread over its own read-only connection to the SQLite file. A
 * worker that ended (an uncaught error ends a worker in Bun) fails the pass it was running, and the
 * next pass starts a new one, so the gauges recover instead of waiting forever for an answer.
 */
export class WorkerStatsSource implements StatsSource {
  private worker: Worker | null = null;
  private pending: { resolve(stats: StoreStats): void; reject(error: Error): void } | null = null;
  private stopped: () => void = () => {};

  constructor(private readonly settings: Config) {}

  private start(): Worker {
    const worker = new Worker(new URL("./store-stats-worker.ts", import.meta.url));
    // The worker must never keep a finished process alive.
    worker.unref();
    worker.onmessage = (message: MessageEvent<StatsWorkerReply>) => {
      const reply = message.data;
      if ("stopped" in reply) return this.stopped();
      if ("stats" in reply) this.settle()?.resolve(reply.stats);
      else this.settle()?.reject(new Error(reply.error));
    };
    worker.addEventListener("close", () => {
      if (this.worker === worker) this.worker = null;
      this.settle()?.reject(new Error("the statistics worker ended"));
    });
    const { databaseUrl, sqliteSynchronous, sqliteBusyTimeoutMs } = this.settings;
    // One connection: passes never overlap, and a pool of the server's size would double its share of PostgreSQL.
    worker.postMessage({
      open: { databaseUrl, sqliteSynchronous, sqliteBusyTimeoutMs, databasePoolSize: 1 },
    } satisfies StatsWorkerRequest);
    return worker;
  }

  /** The pass waiting for an answer, now no longer waiting. */
  private settle() {
    const pending = this.pending;
    this.pending = null;
    return pending;
  }

  collect(now: number): Promise<StoreStats> {
    if (this.pending) return Promise.reject(new Error("a statistics pass is already running"));
    this.worker ??= this.start();
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      worker.postMessage({ collect: now } satisfies StatsWorkerRequest);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const closed = new Promise<void>((resolve) => (this.stopped = resolve));
    worker.postMessage("stop" satisfies StatsWorkerRequest);
    await Promise.race([closed, Bun.sleep(STOP_WAIT_MS)]);
    worker.terminate();
    this.settle()?.reject(new Error("the statistics worker was stopped"));
  }
}

/** Where the statistics come from: a worker for a SQLite file, the store itself otherwise. */
export function statsSourceFor(config: Config, admin: StoreAdmin): StatsSource {
  const url = config.databaseUrl;
  if (storeKind(url) === "sqlite" && sqlitePath(url) !== ":memory:") return new WorkerStatsSource(config);
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
      if (!stopped)
        logger.warn(
          { err: { message: (err as Error).message } },
          "store statistics failed; the gauges keep their last values",
        );
    }
    if (!stopped) timer = setTimeout(() => (running = pass()), everyMs);
  };
  running = pass();
  // Closing the source first ends a pass still running in a worker (at most STOP_WAIT_MS later)
  // instead of waiting for it: a shutdown never waits for a count of the whole store.
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await source.close();
    await running;
  };
}
