/**
 * What only the Redis store does: keys expire by TTL at the session's end plus the retention,
 * index entries of expired sessions are cleaned up, URL options, the data layout check.
 * On database 15 of 127.0.0.1:6379, flushed before and after.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { RedisStore } from "../../db/redis/store";
import { flushTestRedis, REDIS_TEST_URL } from "../support/redis";
import { events, newRow, newUser, rotateInput } from "./contract/fixtures";

const PREFIX = "ttl-test:";
const RETENTION_MS = 1000;
let redis: RedisClient;

beforeAll(async () => {
  await flushTestRedis();
  redis = new RedisClient(REDIS_TEST_URL);
  await redis.connect();
});
afterAll(async () => {
  redis?.close();
  await flushTestRedis();
});

const open = () => RedisStore.open({ url: `${REDIS_TEST_URL}?prefix=${encodeURIComponent(PREFIX)}&retention=1s` });
const pttl = async (key: string) => Number(await redis.send("PTTL", [PREFIX + key]));

test("a session's keys live until its end plus the retention; a rotation moves that, a revocation shortens it", async () => {
  const store = await open();
  try {
    const now = Date.now();
    const row = { ...newRow(newUser(), now), expiresAt: now + 2000 };
    await store.createSession({ row, maxSessionsPerUser: 10 }, events);
    for (const key of [`s:${row.sessionId}`, `t:${row.refreshTokenHash}`]) {
      expect(await pttl(key)).toBeGreaterThan(2000 + RETENTION_MS - 200);
      expect(await pttl(key)).toBeLessThanOrEqual(2000 + RETENTION_MS);
    }

    const input = rotateInput(row.refreshTokenHash, now, { idleTimeoutMs: 5000 });
    expect((await store.rotate(input, events)).kind).toBe("rotated");
    for (const key of [`s:${row.sessionId}`, `t:${input.newHash}`, `p:${row.refreshTokenHash}`]) {
      expect(await pttl(key)).toBeGreaterThan(5000 + RETENTION_MS - 200);
    }
    // Retired hashes live until the absolute deadline (plus the retention): they never need moving.
    expect(await pttl(`r:${row.refreshTokenHash}`)).toBeGreaterThan(row.absoluteExpiresAt - now);
    expect(await redis.send("EXISTS", [`${PREFIX}t:${row.refreshTokenHash}`])).toBe(0);

    await store.revokeSession(row.sessionId, null, "admin", now, events);
    expect(await pttl(`s:${row.sessionId}`)).toBeLessThanOrEqual(RETENTION_MS);
  } finally {
    await store.close();
  }
});

test("once the retention has passed, the session is gone everywhere, and its index entries are cleaned up", async () => {
  const store = await open();
  try {
    const user = newUser();
    const now = Date.now();
    const row = { ...newRow(user, now), expiresAt: now + 100 };
    await store.createSession({ row, maxSessionsPerUser: 10 }, events);
    // Ended (past its deadline) but kept for the retention: listed as expired, revocable idempotently.
    await Bun.sleep(200);
    expect(await store.listSessions({ status: "expired" }, Date.now())).toEqual([row]);
    expect(await store.revokeSession(row.sessionId, user, "logout", Date.now(), events)).toEqual({
      row,
      changed: false,
    });

    await Bun.sleep(100 + RETENTION_MS);
    const later = Date.now();
    expect(await store.findSession(row.sessionId)).toBeNull();
    expect(await store.findActiveByTokenHash(row.refreshTokenHash, later)).toBeNull();
    expect(await store.revokeByTokenHash(row.refreshTokenHash, later, 0, events)).toBe("unknown");
    expect(await store.rotate(rotateInput(row.refreshTokenHash, later), events)).toEqual({ kind: "invalid" });
    expect(await store.listSessions({}, later)).toEqual([]);
    expect((await store.stats(later)).sessions).toEqual({ active: 0, revoked: 0, expired: 0 });

    // The next create drops the index entries of sessions past their retention.
    await store.createSession({ row: newRow(user, later), maxSessionsPerUser: 10 }, events);
    expect(await redis.send("ZSCORE", [`${PREFIX}all`, row.sessionId])).toBeNull();
    expect(await redis.send("ZSCORE", [`${PREFIX}end`, row.sessionId])).toBeNull();
    expect(await redis.send("ZSCORE", [`${PREFIX}u:${user}`, row.sessionId])).toBeNull();
    expect(await store.purge(later, 100, true, later)).toEqual({ sessions: 0, events: 0 });
  } finally {
    await store.close();
  }
});

test("relayed events are dropped once the retention has passed; pending ones never", async () => {
  const store = await open();
  try {
    const now = Date.now();
    await store.createSession({ row: newRow(newUser(), now), maxSessionsPerUser: 10 }, events);
    await store.createSession({ row: newRow(newUser(), now), maxSessionsPerUser: 10 }, events);
    const [sent, waiting] = await store.pendingEvents(10);
    await store.markEventsSent([sent!.id], now);
    await store.markEventsSent([waiting!.id], now + RETENTION_MS + 1);
    expect(await redis.send("EXISTS", [`${PREFIX}ob:e:${sent!.id}`])).toBe(0);
    expect(await redis.send("EXISTS", [`${PREFIX}ob:e:${waiting!.id}`])).toBe(1);
  } finally {
    await store.close();
  }
});

test("the URL's prefix and retention options, and the layout check", async () => {
  const store = await open();
  await store.close();
  expect(await redis.send("GET", [`${PREFIX}layout`])).toBe("1");
  expect(await redis.send("GET", ["sessions:layout"])).toBeNull();

  await redis.send("SET", ["other:layout", "2"]);
  await expect(RedisStore.open({ url: `${REDIS_TEST_URL}?prefix=other:` })).rejects.toThrow("layout 2");
  await expect(RedisStore.open({ url: `${REDIS_TEST_URL}?retention=soon` })).rejects.toThrow("retention");
});
