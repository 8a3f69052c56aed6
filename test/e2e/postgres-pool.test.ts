/**
 * DATABASE_POOL_SIZE bounds the PostgreSQL connections a server opens: bursts of concurrent
 * requests queue on the pool instead of opening a connection each (before the setting every server
 * could open 10 for its store and 10 more for its statistics job, and test files running side by
 * side ran the shared server out of its 100 connections). The statistics job holds one of its own.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TempDirs } from "../support/core";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { client, type Pair, type RunningServer, ServerPool } from "../support/server";

const POOL_SIZE = 2;
const STATISTICS = 1;
const pool = new ServerPool();
const dirs = new TempDirs();
let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase();
  server = await pool.start(dirs.make(), { DATABASE_URL: database.url, DATABASE_POOL_SIZE: String(POOL_SIZE) });
});

afterAll(async () => {
  await pool.killAll();
  await database.drop();
  dirs.removeAll();
});

test("bursts of 50 concurrent requests never hold more than DATABASE_POOL_SIZE + 1 connections", async () => {
  const api = client(server.url);
  const sessions = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => (await (await api.create({ user_id: `pool-${i}` })).json()) as Pair),
  );
  const watcher = database.connect();
  let most = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const [row] = await watcher`select count(*)::int as n from pg_stat_activity where datname = ${database.name}`;
      // The watcher's own connection is on the database too.
      most = Math.max(most, row.n - 1);
      await Bun.sleep(2);
    }
  })();
  for (let burst = 0; burst < 5; burst++) {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api.validate(sessions[i % sessions.length]!.refresh_token)),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
  }
  watching = false;
  await watch;
  await watcher.close();
  expect(most).toBeGreaterThan(0);
  expect(most).toBeLessThanOrEqual(POOL_SIZE + STATISTICS);
}, 30_000);
