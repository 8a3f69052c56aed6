/**
 * The hybrid cache against Redis database 14 (and a redis-server of its own where Redis must fail):
 * the cache is really used, and each protection against a stale positive entry holds — the
 * session tombstone against a late fill, the generation tombstone against a late copy of a
 * rotated-away token, the epoch against a fill across a flush, the user version against entries
 * nobody enumerated, validUntil against Redis keeping a key too long — and reads fall back to SQL
 * (behind a circuit breaker) when Redis is away.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import type { HybridStore } from "../../db/hybrid/store";
import type { SessionRow } from "../../server/core/ports";
import { create, events, newRow, newUser, rotateOk, T0 } from "../store/contract/fixtures";
import { tempDir } from "../support/core";
import { startRedisServer } from "../support/redis";
import { freePort } from "../support/server";
import { cacheKeys, flushHybridRedis, HYBRID_REDIS_URL, redisCommand, sqliteHybrid } from "./support";

setDefaultTimeout(30_000);

const TTL = 1000;
const dirs: string[] = [];
let store: HybridStore;

beforeAll(() => flushHybridRedis());
afterAll(async () => {
  await flushHybridRedis();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await flushHybridRedis();
  const dir = tempDir("session-hybrid-cache-");
  dirs.push(dir);
  store = await sqliteHybrid(dir, { cacheTtlMs: TTL, commandTimeoutMs: 1000 });
});
afterEach(() => store.close());

const entry = (row: SessionRow, validUntil: number, uv = "") =>
  `${uv}\n${row.userId}\n${validUntil}\n${JSON.stringify(row)}`;
// White-box access to the fill path, to replay a reader that read SQL before a revocation.
const fill = (s: HybridStore, epoch: string, row: SessionRow, readStart = Date.now()) => {
  (s.sessions as unknown as { fill: (...a: unknown[]) => void }).fill(epoch, row, readStart, T0);
  return s.sessions.settled();
};
const currentEpoch = async () => String(await redisCommand(HYBRID_REDIS_URL, "GET", ["session-cache:ep"]));

test("reads hit the cache: the second lookup is a hit and returns the SQL row", async () => {
  const row = await create(store, newUser());
  const first = await store.sessions.findActiveSession(row.sessionId, T0);
  expect(first).toEqual(row);
  await store.sessions.settled();
  expect(await cacheKeys(HYBRID_REDIS_URL)).toEqual([`session-cache:ep`, `session-cache:sid:${row.sessionId}`]);
  const before = store.sessions.cacheStats();
  expect(await store.sessions.findActiveSession(row.sessionId, T0)).toEqual(first!);
  expect(await store.sessions.findActiveSession(row.sessionId, T0)).toEqual(first!);
  const after = store.sessions.cacheStats();
  expect(after.hits - before.hits).toBe(2);
  expect(after.misses).toBe(before.misses);
});

test("a reader's copy that lands after the revocation is refused (tombstone)", async () => {
  const row = await create(store, newUser());
  await store.sessions.findActiveSession(row.sessionId, T0); // creates the epoch
  await store.sessions.settled();
  await redisCommand(HYBRID_REDIS_URL, "DEL", [`session-cache:sid:${row.sessionId}`]);
  const epoch = await currentEpoch();
  await store.sessions.revokeSession(row.sessionId, row.userId, "logout", T0 + 1, events);
  await fill(store, epoch, row);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([]);
  expect(await store.sessions.findActiveSession(row.sessionId, T0 + 2)).toBeNull();
});

test("a copy read before a rotation is refused after it (generation); the rotated session is cached again", async () => {
  const row = await create(store, newUser());
  await store.sessions.findActiveSession(row.sessionId, T0);
  await store.sessions.settled();
  const epoch = await currentEpoch();
  const rotated = await rotateOk(store, row, T0 + 1);
  // A reader that read the row before the rotation lands its copy now: refused (gen: tombstone).
  await fill(store, epoch, row);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([]);
  expect((await store.sessions.findActiveSession(row.sessionId, T0 + 2))?.refreshTokenHash).toBe(
    rotated.refreshTokenHash,
  );
  await store.sessions.settled();
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([`session-cache:sid:${row.sessionId}`]);
  expect((await store.sessions.findActiveSession(row.sessionId, T0 + 2))?.refreshTokenHash).toBe(
    rotated.refreshTokenHash,
  );
  expect(store.sessions.cacheStats().hits).toBe(1);
});

test("a copy read before a FLUSHALL/restart is refused after it (epoch)", async () => {
  const row = await create(store, newUser());
  await store.sessions.findActiveSession(row.sessionId, T0);
  await store.sessions.settled();
  const epoch = await currentEpoch();
  await store.sessions.revokeSession(row.sessionId, row.userId, "logout", T0 + 1, events);
  await redisCommand(HYBRID_REDIS_URL, "FLUSHDB"); // the tombstones are gone
  await store.sessions.findActiveSession("00000000-0000-7000-8000-000000000000", T0); // a new epoch
  await fill(store, epoch, row);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([]);
  expect(await store.sessions.findActiveSession(row.sessionId, T0 + 2)).toBeNull();
});

test("revoking a user's sessions voids entries of sessions nobody enumerated (user version)", async () => {
  const userId = newUser();
  await create(store, userId);
  // An entry for a session the SQL store does not revoke: only uv: can void it.
  const ghost = newRow(userId, T0);
  await redisCommand(HYBRID_REDIS_URL, "SET", [
    `session-cache:sid:${ghost.sessionId}`,
    entry(ghost, Date.now() + 60_000),
    "PX",
    "60000",
  ]);
  expect((await store.sessions.findActiveSession(ghost.sessionId, T0))?.sessionId).toBe(ghost.sessionId); // served from Redis
  expect(await store.sessions.revokeUserSessions(userId, "logout_all", T0 + 1, events)).toBe(1);
  expect(await store.sessions.findActiveSession(ghost.sessionId, T0 + 2)).toBeNull();
});

test("an entry past its validUntil is never served, even when Redis still holds it", async () => {
  const row = await create(store, newUser());
  await redisCommand(HYBRID_REDIS_URL, "SET", [
    `session-cache:sid:${row.sessionId}`,
    entry({ ...row, userAgent: "stale" }, Date.now() - 1),
    "PX",
    "60000",
  ]);
  expect((await store.sessions.findActiveSession(row.sessionId, T0))?.userAgent).toBe(row.userAgent);
  expect(store.sessions.cacheStats().hits).toBe(0);
});

test("Redis unreachable: reads answer from SQL behind the breaker; a rotation and a revocation wait T before they return", async () => {
  const dir = tempDir("session-hybrid-down-");
  dirs.push(dir);
  const down = await sqliteHybrid(dir, { redisUrl: `redis://127.0.0.1:${await freePort()}/0`, cacheTtlMs: 300 });
  try {
    const row = await create(down, newUser());
    for (let i = 0; i < 20; i++)
      expect((await down.sessions.findActiveSession(row.sessionId, T0))?.sessionId).toBe(row.sessionId);
    expect(down.sessions.cacheStats().fallbacks).toBe(20);
    let start = performance.now();
    const rotated = await rotateOk(down, row, T0 + 1);
    expect(performance.now() - start).toBeGreaterThanOrEqual(300);
    start = performance.now();
    expect(await down.sessions.revokeSession(row.sessionId, null, "logout", T0 + 2, events)).toMatchObject({
      changed: true,
    });
    expect(performance.now() - start).toBeGreaterThanOrEqual(300);
    expect(rotated.rotationCount).toBe(1);
    expect(await down.sessions.findActiveSession(row.sessionId, T0 + 3)).toBeNull();
  } finally {
    await down.close();
  }
});

test("a paused Redis costs one command timeout, then the breaker sends reads straight to SQL", async () => {
  const redis = await startRedisServer();
  const dir = tempDir("session-hybrid-paused-");
  dirs.push(dir);
  const s = await sqliteHybrid(dir, { redisUrl: redis.url(0), cacheTtlMs: 300, commandTimeoutMs: 50, breakerMs: 5000 });
  try {
    const row = await create(s, newUser());
    await s.sessions.findActiveSession(row.sessionId, T0);
    await s.sessions.settled();
    redis.pause();
    try {
      let start = performance.now();
      expect((await s.sessions.findActiveSession(row.sessionId, T0))?.sessionId).toBe(row.sessionId);
      expect(performance.now() - start).toBeLessThan(1000);
      start = performance.now();
      for (let i = 0; i < 50; i++) await s.sessions.findActiveSession(row.sessionId, T0);
      expect(performance.now() - start).toBeLessThan(500);
      expect(s.sessions.cacheStats().fallbacks).toBe(51);
    } finally {
      redis.resume();
    }
  } finally {
    await s.close();
    await redis.close();
  }
});
