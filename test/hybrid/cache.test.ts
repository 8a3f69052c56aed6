/**
 * HybridStore against Redis database 14 (and a redis-server of its own where Redis must fail):
 * the cache is really used, and each protection against a stale positive entry holds — the
 * tombstone against a late fill, the epoch against a fill across a flush, the user version
 * against entries nobody enumerated, validUntil against Redis keeping a key too long — and reads
 * fall back to SQL (behind a circuit breaker) when Redis is away.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import type { HybridStore } from "../../db/hybrid/store";
import type { SessionRow } from "../../server/core/ports";
import { create, events, GRACE, newRow, newUser, T0 } from "../store/contract/fixtures";
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
  store = sqliteHybrid(dir, { cacheTtlMs: TTL, commandTimeoutMs: 1000 });
});
afterEach(() => store.close());

const entry = (row: SessionRow, validUntil: number, uv = "") =>
  `${uv}\n${row.userId}\n${validUntil}\n${JSON.stringify(row)}`;
// White-box access to the fill path, to replay a reader that read SQL before a revocation.
const fill = (
  s: HybridStore,
  kind: string,
  id: string,
  hash: string,
  epoch: string,
  row: SessionRow,
  readStart = Date.now(),
) => {
  (s as unknown as { fill: (...a: unknown[]) => void }).fill(kind, id, hash, epoch, row, readStart, T0);
  return s.settled();
};

test("reads hit the cache: the second lookup of each kind is a hit and returns the SQL row", async () => {
  const row = await create(store, newUser());
  const first = await store.findActiveByTokenHash(row.refreshTokenHash, T0);
  await store.findActiveSession(row.sessionId, T0);
  await store.settled();
  expect(await cacheKeys(HYBRID_REDIS_URL)).toEqual(
    [`session-cache:ep`, `session-cache:sid:${row.sessionId}`, `session-cache:tok:${row.refreshTokenHash}`].sort(),
  );
  const before = store.cacheStats();
  expect(await store.findActiveByTokenHash(row.refreshTokenHash, T0)).toEqual(first!);
  expect(await store.findActiveSession(row.sessionId, T0)).toEqual(first!);
  const after = store.cacheStats();
  expect(after.hits - before.hits).toBe(2);
  expect(after.misses).toBe(before.misses);
});

test("a reader's copy that lands after the revocation is refused (tombstone)", async () => {
  const row = await create(store, newUser());
  await store.findActiveByTokenHash(row.refreshTokenHash, T0); // creates the epoch
  await store.settled();
  await redisCommand(HYBRID_REDIS_URL, "DEL", [`session-cache:tok:${row.refreshTokenHash}`]);
  const epoch = String(await redisCommand(HYBRID_REDIS_URL, "GET", ["session-cache:ep"]));
  await store.revokeSession(row.sessionId, row.userId, "logout", T0 + 1, events);
  await fill(store, "tok", row.refreshTokenHash, row.refreshTokenHash, epoch, row);
  await fill(store, "sid", row.sessionId, "", epoch, row);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:tok:*")).toEqual([]);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([]);
  expect(await store.findActiveByTokenHash(row.refreshTokenHash, T0 + 2)).toBeNull();
  expect(await store.findActiveSession(row.sessionId, T0 + 2)).toBeNull();
});

test("a rotated-away token's late copy is refused; the session itself stays cacheable", async () => {
  const row = await create(store, newUser());
  await store.findActiveByTokenHash(row.refreshTokenHash, T0);
  await store.settled();
  const epoch = String(await redisCommand(HYBRID_REDIS_URL, "GET", ["session-cache:ep"]));
  const rotated = await store.rotate(
    {
      presentedHash: row.refreshTokenHash,
      newHash: "next-hash",
      nonce: "n",
      now: T0 + 1,
      idleTimeoutMs: 60_000,
      graceMs: GRACE,
      accessExpiresAt: T0 + 900_000,
    },
    events,
  );
  expect(rotated.kind).toBe("rotated");
  await fill(store, "tok", row.refreshTokenHash, row.refreshTokenHash, epoch, row);
  expect(await store.findActiveByTokenHash(row.refreshTokenHash, T0 + 2)).toBeNull();
  expect((await store.findActiveByTokenHash("next-hash", T0 + 2))?.sessionId).toBe(row.sessionId);
  expect((await store.findActiveSession(row.sessionId, T0 + 2))?.refreshTokenHash).toBe("next-hash");
  await store.settled();
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:sid:*")).toEqual([`session-cache:sid:${row.sessionId}`]);
});

test("a copy read before a FLUSHALL/restart is refused after it (epoch)", async () => {
  const row = await create(store, newUser());
  await store.findActiveByTokenHash(row.refreshTokenHash, T0);
  await store.settled();
  const epoch = String(await redisCommand(HYBRID_REDIS_URL, "GET", ["session-cache:ep"]));
  await store.revokeSession(row.sessionId, row.userId, "logout", T0 + 1, events);
  await redisCommand(HYBRID_REDIS_URL, "FLUSHDB"); // the tombstones are gone
  await store.findActiveSession("00000000-0000-7000-8000-000000000000", T0); // a new epoch
  await fill(store, "tok", row.refreshTokenHash, row.refreshTokenHash, epoch, row);
  expect(await cacheKeys(HYBRID_REDIS_URL, "session-cache:tok:*")).toEqual([]);
  expect(await store.findActiveByTokenHash(row.refreshTokenHash, T0 + 2)).toBeNull();
});

test("revoking a user's sessions voids entries of sessions nobody enumerated (user version)", async () => {
  const userId = newUser();
  await create(store, userId);
  // An entry for a session the SQL store does not list: only uv: can void it.
  const ghost = newRow(userId, T0, { refreshTokenHash: "ghost-hash" });
  await redisCommand(HYBRID_REDIS_URL, "SET", [
    "session-cache:tok:ghost-hash",
    entry(ghost, Date.now() + 60_000),
    "PX",
    "60000",
  ]);
  expect((await store.findActiveByTokenHash("ghost-hash", T0))?.sessionId).toBe(ghost.sessionId); // served from Redis
  expect(await store.revokeUserSessions(userId, "logout_all", T0 + 1, events)).toBe(1);
  expect(await store.findActiveByTokenHash("ghost-hash", T0 + 2)).toBeNull();
});

test("an entry past its validUntil is never served, even when Redis still holds it", async () => {
  const row = await create(store, newUser());
  await redisCommand(HYBRID_REDIS_URL, "SET", [
    `session-cache:sid:${row.sessionId}`,
    entry({ ...row, userAgent: "stale" }, Date.now() - 1),
    "PX",
    "60000",
  ]);
  expect((await store.findActiveSession(row.sessionId, T0))?.userAgent).toBe(row.userAgent);
  expect(store.cacheStats().hits).toBe(0);
});

test("Redis unreachable: reads answer from SQL behind the breaker; a revocation waits T before it returns", async () => {
  const dir = tempDir("session-hybrid-down-");
  dirs.push(dir);
  const down = sqliteHybrid(dir, { redisUrl: `redis://127.0.0.1:${await freePort()}/0`, cacheTtlMs: 300 });
  try {
    const row = await create(down, newUser());
    for (let i = 0; i < 20; i++)
      expect((await down.findActiveByTokenHash(row.refreshTokenHash, T0))?.sessionId).toBe(row.sessionId);
    expect(down.cacheStats().fallbacks).toBe(20);
    const start = performance.now();
    expect(await down.revokeByTokenHash(row.refreshTokenHash, T0 + 1, GRACE, events)).toBe("logout");
    expect(performance.now() - start).toBeGreaterThanOrEqual(300);
    expect(await down.findActiveByTokenHash(row.refreshTokenHash, T0 + 2)).toBeNull();
    expect(await down.findActiveSession(row.sessionId, T0 + 2)).toBeNull();
  } finally {
    await down.close();
  }
});

test("a paused Redis costs one command timeout, then the breaker sends reads straight to SQL", async () => {
  const redis = await startRedisServer();
  const dir = tempDir("session-hybrid-paused-");
  dirs.push(dir);
  const s = sqliteHybrid(dir, { redisUrl: redis.url(0), cacheTtlMs: 300, commandTimeoutMs: 50, breakerMs: 5000 });
  try {
    const row = await create(s, newUser());
    await s.findActiveSession(row.sessionId, T0);
    await s.settled();
    redis.pause();
    try {
      let start = performance.now();
      expect((await s.findActiveSession(row.sessionId, T0))?.sessionId).toBe(row.sessionId);
      expect(performance.now() - start).toBeLessThan(1000);
      start = performance.now();
      for (let i = 0; i < 50; i++) await s.findActiveSession(row.sessionId, T0);
      expect(performance.now() - start).toBeLessThan(500);
      expect(s.cacheStats().fallbacks).toBe(51);
    } finally {
      redis.resume();
    }
  } finally {
    await s.close();
    await redis.close();
  }
});
