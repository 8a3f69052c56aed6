/**
 * The store gauges: a scrape reads the last background pass and never the store; passes run one at
 * a time on their interval, a failing one keeps the last values; the worker of a SQLite file
 * counts what the file holds.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../db/open-store";
import type { StoreStats } from "../../server/core/ports";
import { type StatsSource, startStoreStats, statsSourceFor } from "../../server/jobs/store-stats";
import { createLogger } from "../../server/logger";
import { Metrics } from "../../server/metrics";
import { openTestApp, serviceAuth, tempDir } from "../support/core";
import { waitFor } from "../support/wait";

const stats = (active: number): StoreStats => ({
  sessions: { active, revoked: 0, expired: 0 },
  users: active,
  events: { pending: 2, oldestPendingCreatedAt: Date.now() - 30_000 },
});
const logger = createLogger("silent");
const gauge = (text: string, name: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(`${name} `))
      ?.split(" ")[1],
  );

let stop: (() => Promise<void>) | null = null;
afterEach(async () => {
  await stop?.();
  stop = null;
});

/** A source that counts its calls and the most that ran at once; each call takes `ms`. */
function countingSource(ms: number) {
  const state = { calls: 0, running: 0, mostAtOnce: 0, closed: false, fail: false };
  const source: StatsSource = {
    async collect() {
      state.calls++;
      state.running++;
      state.mostAtOnce = Math.max(state.mostAtOnce, state.running);
      await Bun.sleep(ms);
      state.running--;
      if (state.fail) throw new Error("store away");
      return stats(state.calls);
    },
    async close() {
      state.closed = true;
    },
  };
  return { source, state };
}

test("no gauge before the first pass; then scrapes read its result and never call the store", async () => {
  const metrics = new Metrics();
  expect(await metrics.registry.metrics()).not.toContain("sessions_active");
  const { source, state } = countingSource(1);
  stop = startStoreStats(source, metrics, 3_600_000, logger);
  await waitFor("the first pass", () => state.calls === 1 && state.running === 0);
  for (let i = 0; i < 200; i++) await metrics.registry.metrics();
  const text = await metrics.registry.metrics();
  expect(state.calls).toBe(1);
  expect(gauge(text, "sessions_active")).toBe(1);
  expect(gauge(text, "outbox_pending_events")).toBe(2);
  expect(gauge(text, "outbox_oldest_pending_age_seconds")).toBeGreaterThanOrEqual(30);
});

test("passes follow each other on the interval and never overlap, even when one takes longer than it", async () => {
  const metrics = new Metrics();
  const { source, state } = countingSource(30);
  stop = startStoreStats(source, metrics, 5, logger);
  await waitFor("several passes", () => state.calls >= 5);
  expect(state.mostAtOnce).toBe(1);
  await stop();
  stop = null;
  expect(state.closed).toBe(true);
  const calls = state.calls;
  await Bun.sleep(50);
  expect(state.calls).toBe(calls); // stopped means stopped
});

test("a failing pass keeps the last values, and the next pass recovers", async () => {
  const metrics = new Metrics();
  const { source, state } = countingSource(1);
  stop = startStoreStats(source, metrics, 5, logger);
  await waitFor("a first value", async () => gauge(await metrics.registry.metrics(), "sessions_active") >= 1);
  state.fail = true;
  const failedFrom = state.calls;
  await waitFor("two failed passes", () => state.calls >= failedFrom + 2);
  const kept = gauge(await metrics.registry.metrics(), "sessions_active");
  expect(kept).toBeLessThanOrEqual(failedFrom);
  state.fail = false;
  await waitFor("a value again", async () => gauge(await metrics.registry.metrics(), "sessions_active") > kept);
});

test("on a SQLite file the worker counts what the file holds, on a connection of its own", async () => {
  const t = await openTestApp();
  try {
    for (const user of ["w1", "w2", "w3"])
      expect((await t.call("POST", "/session", { body: { user_id: user }, headers: serviceAuth })).status).toBe(201);
    const source = statsSourceFor(t.core.config, t.core.store.admin);
    expect(source.constructor.name).toBe("WorkerStatsSource");
    try {
      const counted = await source.collect(t.clock.now());
      expect(counted).toEqual(await t.core.store.admin.stats(t.clock.now()));
      expect(counted.sessions.active).toBe(3);
    } finally {
      await source.close();
    }
  } finally {
    await t.close();
  }
});

test("a worker whose file is not there yet fails that pass, and counts once the file exists", async () => {
  const dir = tempDir("store-stats-");
  try {
    const t = await openTestApp();
    const config = { ...t.core.config, databaseUrl: `sqlite:${join(dir, "later.db")}` };
    await t.close();
    const source = statsSourceFor(config, t.core.store.admin);
    try {
      await expect(source.collect(Date.now())).rejects.toThrow("there is no store");
      const store = await openStore(config);
      await store.close();
      expect((await source.collect(Date.now())).sessions).toEqual({ active: 0, revoked: 0, expired: 0 });
    } finally {
      await source.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a worker that ended fails the pass it was running, and the next pass starts a new one", async () => {
  const t = await openTestApp();
  try {
    expect((await t.call("POST", "/session", { body: { user_id: "w" }, headers: serviceAuth })).status).toBe(201);
    const source = statsSourceFor(t.core.config, t.core.store.admin);
    try {
      expect((await source.collect(t.clock.now())).sessions.active).toBe(1);
      // What an uncaught error does to a worker in Bun: it ends (reached through the private field).
      const passing = source.collect(t.clock.now());
      (source as unknown as { worker: Worker }).worker.terminate();
      await expect(passing).rejects.toThrow("the statistics worker ended");
      expect((await source.collect(t.clock.now())).sessions.active).toBe(1);
    } finally {
      await source.close();
    }
  } finally {
    await t.close();
  }
});
