/**
 * The Redis store when Redis goes away: a redis-server of the test's own on a free port is killed
 * mid-use, paused, and restarted. Every call must answer ServiceError("unavailable") promptly
 * (never hang, never leak a driver error), and the store must recover by itself afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { openRedisStore } from "../../db/redis/store";
import { ServiceError } from "../../server/core/errors";
import { tempDir } from "../support/core";
import { startRedisServer, type TestRedisServer } from "../support/redis";
import { client, freePort, startServer } from "../support/server";
import { events, newRow, newUser, rotation } from "./contract/fixtures";

let redis: TestRedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.close();
});

/** Awaits the call and insists it failed with ServiceError("unavailable"), within `withinMs`. */
async function expectUnavailable(call: () => Promise<unknown>, withinMs = 2000) {
  const started = performance.now();
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe("unavailable");
  expect(performance.now() - started).toBeLessThan(withinMs);
}

/** Retries `call` until it succeeds (the store reconnects on use), for at most `ms`. */
async function eventually<T>(call: () => Promise<T>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await Bun.sleep(50);
    }
  }
}

describe("Redis killed and restarted", () => {
  test("every kind of call answers unavailable while it is down, and works again after the restart", async () => {
    const store = await openRedisStore({ url: redis.url(1) });
    try {
      const user = newUser();
      const row = newRow(user, Date.now());
      await store.sessions.create(row, 10, events);
      expect(await store.sessions.findActiveSession(row.sessionId, row.createdAt)).toEqual(row);

      await redis.kill();
      const now = row.createdAt + 1;
      await expectUnavailable(() => store.sessions.create(newRow(user, now), 10, events));
      await expectUnavailable(() => store.sessions.rotate(rotation(row, now)));
      await expectUnavailable(() => store.sessions.replayGrace({ ...rotation(row, now), graceStart: now }));
      await expectUnavailable(() => store.sessions.findActiveSession(row.sessionId, now));
      await expectUnavailable(() => store.sessions.revokeSession(row.sessionId, user, "logout", now, events));
      await expectUnavailable(() => store.sessions.revokeUserSessions(user, "logout_all", now, events));
      await expectUnavailable(() => store.sessions.deleteUser(user, now, events));
      await expectUnavailable(() => store.sessions.renameSession(row.sessionId, user, "x", now));
      await expectUnavailable(() => store.sessions.listActiveSessions(user, now));
      await expectUnavailable(() => store.outbox.pendingEvents(10));
      await expectUnavailable(() => store.leases.acquireLease("relay", "me", 1000, now));
      await expectUnavailable(() => store.signingKeys.listSigningKeys());
      await expectUnavailable(() => store.checkWritable());
      await expectUnavailable(() => store.admin.stats(now));
      await expectUnavailable(() =>
        store.admin.purge({ revokedBefore: now, expiredBefore: now, sentBefore: now, proofsBefore: now }, 10),
      );

      // Without persistence the restarted server is empty; what matters is that the store recovers.
      await redis.restart();
      await eventually(() => store.checkWritable());
      const again = newRow(user, now);
      expect(await store.sessions.create(again, 10, events)).toEqual({ row: again, evicted: [] });
      expect(await store.sessions.rotate(rotation(again, now + 1))).toMatchObject({ rotationCount: 1 });
      expect((await store.outbox.pendingEvents(10)).map((e) => e.subject)).toEqual(["session.created"]);
    } finally {
      await store.close();
    }
  });

  test("a call in flight when the connection drops answers unavailable, not a driver error", async () => {
    const store = await openRedisStore({ url: redis.url(2) });
    try {
      const user = newUser();
      const now = Date.now();
      const settled = Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => store.sessions.create(newRow(user, now + i), 5, events)),
      );
      await redis.kill();
      const results = await settled;
      // The kill lands before the replies do: otherwise this test would prove nothing.
      expect(results.some((r) => r.status === "rejected")).toBe(true);
      for (const result of results) {
        if (result.status === "rejected") expect((result.reason as ServiceError).code).toBe("unavailable");
      }
      await redis.restart();
      await eventually(() => store.checkWritable());
    } finally {
      await store.close();
    }
  });

  test("opening the store without a reachable Redis fails with unavailable", async () => {
    const port = await freePort();
    await expectUnavailable(() => openRedisStore({ url: `redis://127.0.0.1:${port}/0`, connectTimeoutMs: 500 }));
  });
});

test("the store refuses a Redis that may evict any key (allkeys-*): events and deletion marks would be lost", async () => {
  const evicting = await startRedisServer(["--maxmemory-policy", "allkeys-lru"]);
  try {
    await expect(openRedisStore({ url: evicting.url(0) })).rejects.toThrow("maxmemory-policy allkeys-lru");
  } finally {
    await evicting.close();
  }
});

describe("Redis paused (stops answering, keeps its sockets)", () => {
  test("calls give up after the command timeout, then recover when it answers again", async () => {
    const store = await openRedisStore({ url: redis.url(3), commandTimeoutMs: 300, connectTimeoutMs: 300 });
    try {
      const row = newRow(newUser(), Date.now());
      await store.sessions.create(row, 10, events);
      redis.pause();
      await expectUnavailable(() => store.sessions.findActiveSession(row.sessionId, row.createdAt), 1500);
      await expectUnavailable(
        () => store.sessions.revokeSession(row.sessionId, null, "admin", row.createdAt + 1, events),
        1500,
      );
      redis.resume();
      const revoked = await eventually(() =>
        store.sessions.revokeSession(row.sessionId, null, "admin", row.createdAt + 2, events),
      );
      expect(revoked).toMatchObject({ changed: true, row: { revokeReason: "admin" } });
    } finally {
      redis.resume();
      await store.close();
    }
  });
});

describe("the server on Redis", () => {
  test("answers 503 unavailable while Redis is down, and serves again after it is back", async () => {
    const dir = tempDir("session-redis-fault-");
    const server = await startServer(dir, { DATABASE_URL: redis.url(4) });
    try {
      const api = client(server.url);
      expect((await api.create({ user_id: "fault-alice" })).status).toBe(201);
      await redis.kill();
      const down = await api.create({ user_id: "fault-alice" });
      expect(down.status).toBe(503);
      expect(down.headers.get("retry-after")).not.toBeNull();
      expect(await down.json()).toMatchObject({ error: "unavailable" });
      expect((await api.readyz()).status).toBe(503);
      await redis.restart();
      await eventually(async () => {
        if ((await api.readyz()).status !== 200) throw new Error("not ready yet");
      });
      expect((await api.create({ user_id: "fault-bob" })).status).toBe(201);
    } finally {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
