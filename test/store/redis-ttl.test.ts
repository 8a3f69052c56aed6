/**
 * What only the Redis store does: keys expire by TTL at the session's end plus the retention, DPoP
 * proof ids by their own TTL, index entries of sessions gone after the retention are cleaned up,
 * URL options, the data layout check, and a read-only opening that writes nothing.
 * On database 15 of 127.0.0.1:6379, flushed before each test and after.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { openRedisStore } from "../../db/redis/store";
import { purgeCutoffs } from "../../server/core/session-rules";
import { flushTestRedis, REDIS_TEST_URL } from "../support/redis";
import { events, newRow, newUser, rotation } from "./contract/fixtures";

const PREFIX = "ttl-test:";
const RETENTION_MS = 1000;
let redis: RedisClient;

beforeAll(async () => {
  await flushTestRedis();
  redis = new RedisClient(REDIS_TEST_URL);
  await redis.connect();
});
beforeEach(() => flushTestRedis());
afterAll(async () => {
  redis?.close();
  await flushTestRedis();
});

const open = () => openRedisStore({ url: `${REDIS_TEST_URL}?prefix=${encodeURIComponent(PREFIX)}&retention=1s` });
const pttl = async (key: string) => Number(await redis.send("PTTL", [PREFIX + key]));
const glob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
const keysUnder = async (prefix: string) => ((await redis.send("KEYS", [`${glob(prefix)}*`])) as string[]).sort();
/** Every key under the prefix with its serialized value: equal snapshots mean nothing was written. */
async function snapshot(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const key of await keysUnder(prefix)) out.push(key, String(await redis.send("DUMP", [key])));
  return out;
}

/** Waits until `check` holds (Redis expiry is asynchronous), for at most 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await Bun.sleep(20);
  }
}

test("a session's key lives until its end plus the retention; a rotation moves that, a revocation shortens it", async () => {
  const store = await open();
  try {
    const now = Date.now();
    const row = { ...newRow(newUser(), now), expiresAt: now + 2000 };
    await store.sessions.create(row, 10, events);
    expect(await pttl(`s:${row.sessionId}`)).toBeGreaterThan(2000 + RETENTION_MS - 200);
    expect(await pttl(`s:${row.sessionId}`)).toBeLessThanOrEqual(2000 + RETENTION_MS);

    const rotated = await store.sessions.rotate(rotation(row, now, { idleDeadline: now + 5000 }));
    expect(rotated).toMatchObject({ rotationCount: 1 });
    expect(await pttl(`s:${row.sessionId}`)).toBeGreaterThan(5000 + RETENTION_MS - 200);
    // No token index any more: the session's hash is the only key of the session.
    expect(await keysUnder(`${PREFIX}s:`)).toEqual([`${PREFIX}s:${row.sessionId}`]);

    await store.sessions.revokeSession(row.sessionId, null, "admin", now, events);
    expect(await pttl(`s:${row.sessionId}`)).toBeLessThanOrEqual(RETENTION_MS);
    expect(await redis.send("ZSCORE", [`${PREFIX}ul:${row.userId}`, row.sessionId])).toBeNull();
  } finally {
    await store.close();
  }
});

test("a used DPoP proof id expires by TTL at its own expiry", async () => {
  const store = await open();
  try {
    const now = Date.now();
    const row = newRow(newUser(), now);
    await store.sessions.create(row, 10, events);
    const proof = { jti: `jti-${crypto.randomUUID()}`, expiresAt: now + 300 };
    expect(await store.sessions.rotate(rotation(row, now, { proof }))).toMatchObject({ rotationCount: 1 });
    expect(await pttl(`dp:${proof.jti}`)).toBeGreaterThan(0);
    expect(await pttl(`dp:${proof.jti}`)).toBeLessThanOrEqual(300);
    await until(async () => (await redis.send("EXISTS", [`${PREFIX}dp:${proof.jti}`])) === 0);
  } finally {
    await store.close();
  }
});

test("once the retention has passed, the session is gone everywhere; create and purge clean the index entries", async () => {
  const store = await open();
  try {
    const user = newUser();
    const now = Date.now();
    const row = { ...newRow(user, now), expiresAt: now + 100 };
    await store.sessions.create(row, 10, events);
    // Ended (past its deadline) but kept for the retention: listed as expired, revocable idempotently.
    await Bun.sleep(200);
    expect(await store.admin.listSessions({ status: "expired" }, Date.now())).toEqual([row]);
    expect(await store.sessions.revokeSession(row.sessionId, user, "logout", Date.now(), events)).toEqual({
      row,
      changed: false,
    });

    await until(async () => (await redis.send("EXISTS", [`${PREFIX}s:${row.sessionId}`])) === 0);
    const later = Date.now();
    expect(await store.sessions.findSession(row.sessionId)).toBeNull();
    expect(await store.sessions.rotate(rotation(row, later))).toBeNull();
    expect(await store.admin.listSessions({}, later)).toEqual([]);
    expect((await store.admin.stats(later)).sessions).toEqual({ active: 0, revoked: 0, expired: 0 });

    // The user's next create drops the ended member of the live set; purge drops the global entries.
    await store.sessions.create(newRow(user, later), 10, events);
    expect(await redis.send("ZSCORE", [`${PREFIX}ul:${user}`, row.sessionId])).toBeNull();
    expect(await store.admin.purge(purgeCutoffs(0, later), 100)).toEqual({ sessions: 0, events: 0 });
    expect(await redis.send("ZSCORE", [`${PREFIX}all`, row.sessionId])).toBeNull();
    expect(await redis.send("ZSCORE", [`${PREFIX}end`, row.sessionId])).toBeNull();
    expect(await redis.send("ZSCORE", [`${PREFIX}u:${user}`, row.sessionId])).toBeNull();
  } finally {
    await store.close();
  }
});

test("relayed events are dropped once the retention has passed; pending ones never", async () => {
  const store = await open();
  try {
    const now = Date.now();
    await store.sessions.create(newRow(newUser(), now), 10, events);
    await store.sessions.create(newRow(newUser(), now), 10, events);
    const [sent, waiting] = await store.outbox.pendingEvents(10);
    await store.outbox.markEventsSent([sent!.id], now);
    await store.outbox.markEventsSent([waiting!.id], now + RETENTION_MS + 1);
    expect(await redis.send("EXISTS", [`${PREFIX}ob:e:${sent!.id}`])).toBe(0);
    expect(await redis.send("EXISTS", [`${PREFIX}ob:e:${waiting!.id}`])).toBe(1);
  } finally {
    await store.close();
  }
});

test("the URL's prefix and retention options, and the layout check", async () => {
  const store = await open();
  await store.close();
  expect(await redis.send("GET", [`${PREFIX}layout`])).toBe("2");
  expect(await redis.send("GET", ["sessions:layout"])).toBeNull();
  await redis.send("SET", ["other:layout", "3"]);
  await expect(openRedisStore({ url: `${REDIS_TEST_URL}?prefix=other:` })).rejects.toThrow("layout 3");
  await expect(openRedisStore({ url: `${REDIS_TEST_URL}?retention=soon` })).rejects.toThrow("retention");
});

test("layout 1 (0.1): refused read-only; the first writer converts it, keeping deletion marks, events and clients", async () => {
  const old = "old:[1]:"; // glob characters in the prefix match only themselves
  const event = JSON.stringify({ specversion: "1.0", id: "e-1", type: "session.created" });
  const seed: Array<[string, ...string[]]> = [
    ["SET", `${old}layout`, "1"],
    ["HSET", `${old}s:sid-1`, "session_id", "sid-1", "user_id", "alice", "refresh_token_hash", "h1"],
    ["SADD", `${old}s:sid-1:r`, "h0"],
    ["SET", `${old}t:h1`, "sid-1"],
    ["SET", `${old}p:h0`, "sid-1"],
    ["SET", `${old}r:h0`, "sid-1"],
    ["ZADD", `${old}u:alice`, "1", "sid-1"],
    ["SET", `${old}uv:alice`, "7"],
    ["ZADD", `${old}all`, "1", "sid-1"],
    ["ZADD", `${old}end`, "1", "sid-1"],
    ["HSET", `${old}keys`, "k1", "{}"],
    ["HSET", `${old}keys:retired`, "k1", "5"],
    ["SET", `${old}ud:mallory`, "3"],
    ["HSET", `${old}ob:e:e-1`, "seq", "1", "subject", "session.created", "payload", event, "created_at", "9"],
    ["ZADD", `${old}ob:q`, "1", "e-1"],
    ["ZADD", `${old}ob:age`, "9", "e-1"],
    ["SET", `${old}ob:seq`, "1"],
    ["HSET", `${old}clients`, "gw", '{"name":"gw","keyHash":"kh","createdAt":1}'],
    ["HSET", `${old}clients:h`, "kh", '{"name":"gw","keyHash":"kh","createdAt":1}'],
    ["SET", "bystander:s:x", "not ours"],
  ];
  for (const [command, ...args] of seed) await redis.send(command, args);
  const url = `${REDIS_TEST_URL}?prefix=${encodeURIComponent(old)}`;

  await expect(openRedisStore({ url, readOnly: true })).rejects.toThrow(
    "Redis holds session data of layout 1 (version 0.1); this version reads layout 2: start the server once",
  );
  expect(await redis.send("GET", [`${old}layout`])).toBe("1");

  const store = await openRedisStore({ url });
  try {
    expect(await redis.send("GET", [`${old}layout`])).toBe("2");
    expect(await keysUnder(old)).toEqual(
      ["layout", "ud:mallory", "ob:e:e-1", "ob:q", "ob:age", "ob:seq", "clients", "clients:h"]
        .map((k) => old + k)
        .sort(),
    );
    expect(await redis.send("GET", ["bystander:s:x"])).toBe("not ours");
    expect(await store.sessions.create(newRow("mallory", Date.now()), 10, events)).toBeNull();
    expect((await store.outbox.pendingEvents(10)).map((e) => e.payload)).toEqual([event]);
    expect((await store.serviceClients.findServiceClientByHash("kh"))?.name).toBe("gw");
    expect(await store.signingKeys.listSigningKeys()).toEqual([]);
  } finally {
    await store.close();
  }
});

test("read-only: an empty prefix is refused, and an existing store is read without a single write", async () => {
  await expect(openRedisStore({ url: `${REDIS_TEST_URL}?prefix=ro-empty:`, readOnly: true })).rejects.toThrow(
    "no session store",
  );
  expect(await keysUnder("ro-empty:")).toEqual([]);

  const writer = await openRedisStore({ url: `${REDIS_TEST_URL}?prefix=ro:` });
  const user = newUser();
  const row = newRow(user, Date.now());
  await writer.sessions.create(row, 10, events);
  await writer.close();
  const before = await snapshot("ro:");
  expect(before.length).toBeGreaterThan(10);

  const reader = await openRedisStore({ url: `${REDIS_TEST_URL}?prefix=ro:`, readOnly: true });
  try {
    const now = Date.now();
    expect(await reader.sessions.findSession(row.sessionId)).toEqual(row);
    expect(await reader.sessions.listActiveSessions(user, now)).toEqual([row]);
    expect(await reader.admin.listSessions({ userId: user }, now)).toEqual([row]);
    expect((await reader.admin.stats(now)).sessions.active).toBe(1);
    expect(await reader.admin.countPurgeable(purgeCutoffs(0, now))).toEqual({ sessions: 0, events: 0 });
    expect(await reader.outbox.pendingEvents(10)).toHaveLength(1);
    expect(await reader.signingKeys.listSigningKeys()).toEqual([]);
    await expect(reader.checkWritable()).rejects.toThrow("read-only");
    await expect(reader.sessions.revokeSession(row.sessionId, null, "admin", now, events)).rejects.toThrow("read-only");
    await expect(reader.leases.acquireLease("relay", "me", 1000, now)).rejects.toThrow("read-only");
  } finally {
    await reader.close();
  }
  expect(await snapshot("ro:")).toEqual(before);
});
