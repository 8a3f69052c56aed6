/**
 * The real server and sessionctl on DATABASE_URL=redis://127.0.0.1:6379 (a database of its own): the wiring from the
 * setting to the Redis store, end to end (create, refresh, grace replay, reuse, logout, events
 * waiting in the Redis outbox, the CLI reading the same data).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { sessionctl } from "../cli/support";
import { tempDir } from "../support/core";
import { flushTestRedis, REDIS_TEST_URL } from "../support/redis";
import { client, type Pair, type RunningServer, startServer } from "../support/server";

let dir: string;
let server: RunningServer | undefined;
const redis = { DATABASE_URL: REDIS_TEST_URL };

beforeAll(async () => {
  dir = tempDir("session-redis-e2e-");
  await flushTestRedis();
});
afterAll(async () => {
  await server?.kill();
  await flushTestRedis();
  rmSync(dir, { recursive: true, force: true });
});

test("the server runs on Redis: create, refresh, replay, reuse and logout; sessionctl sees it", async () => {
  server = await startServer(dir, { ...redis, REFRESH_REUSE_GRACE: "1s" });
  const api = client(server.url);

  // Rotation, a retry inside the grace window, then reuse after it.
  const created = await api.create({ user_id: "redis-alice", user_agent: "e2e/1.0", ip: "192.0.2.10" });
  expect(created.status).toBe(201);
  const first = (await created.json()) as Pair;
  const refreshed = await api.refresh(first.refresh_token);
  expect(refreshed.status).toBe(200);
  const second = (await refreshed.json()) as Pair;
  expect(second.session_id).toBe(first.session_id);
  expect(second.refresh_token).not.toBe(first.refresh_token);
  expect(((await (await api.refresh(first.refresh_token)).json()) as Pair).refresh_token).toBe(second.refresh_token);
  expect(await (await api.validate(second.refresh_token)).json()).toMatchObject({
    active: true,
    session_id: first.session_id,
  });
  expect((await api.me(second.access_token)).status).toBe(200);
  await Bun.sleep(1100);
  expect(await (await api.refresh(first.refresh_token)).json()).toMatchObject({ error: "invalid_grant" });
  expect((await api.me(second.access_token)).status).toBe(401);
  expect(await (await api.validate(second.refresh_token)).json()).toEqual({ active: false });

  // Log out one device with the access token; its tokens stop working.
  const bob = (await (await api.create({ user_id: "redis-bob" })).json()) as Pair;
  expect((await api.logout(bob.access_token, bob.session_id)).status).toBe(204);
  expect((await api.me(bob.access_token)).status).toBe(401);
  expect((await api.refresh(bob.refresh_token)).status).toBe(401);

  // Log out with the refresh token.
  const carol = (await (await api.create({ user_id: "redis-carol" })).json()) as Pair;
  expect((await api.revoke(carol.refresh_token)).status).toBe(200);
  expect((await api.me(carol.access_token)).status).toBe(401);
  expect((await api.readyz()).status).toBe(200);

  // No NATS: the six events wait in the Redis outbox, and the CLI reads the same store.
  const stats = await sessionctl(dir, ["stats", "--json"], redis);
  expect(stats).toMatchObject({ code: 0, stderr: "" });
  expect(JSON.parse(stats.stdout)).toMatchObject({
    sessions: { active: 0, revoked: 3, expired: 0 },
    users: 0,
    events: { pending: 6 },
  });
  const listed = await sessionctl(dir, ["list", "--status", "revoked", "--json"], redis);
  expect(
    JSON.parse(listed.stdout).map((s: { user_id: string; revoke_reason: string }) => [s.user_id, s.revoke_reason]),
  ).toEqual([
    ["redis-carol", "logout"],
    ["redis-bob", "logout"],
    ["redis-alice", "refresh_token_reuse"],
  ]);
  expect(listed.stdout).not.toContain(first.refresh_token);
  expect((await sessionctl(dir, ["migrate"], redis)).code).toBe(0);

  expect(await server.stop()).toBe(0);
  server = undefined;
});
