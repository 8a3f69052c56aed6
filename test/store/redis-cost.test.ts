/**
 * Per-user cost on Redis is bounded by what the user holds now (issue 12, finding 7): a user with
 * 10,000 ended sessions costs a create, a listing of their devices and a logout everywhere exactly
 * the same Redis work as a user with none. Work is counted inside Redis — the commands the scripts
 * ran, from INFO commandstats on a redis-server of the test's own — never by a clock.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { RedisClient } from "bun";
import { openRedisStore, type RedisStore } from "../../db/redis/store";
import { startRedisServer, type TestRedisServer } from "../support/redis";
import { events, newRow, newUser, T0 } from "./contract/fixtures";

setDefaultTimeout(60_000);

const ENDED = 10_000;
const LIVE = 3;

let redis: TestRedisServer;
let admin: RedisClient;
let store: RedisStore;

beforeAll(async () => {
  redis = await startRedisServer();
  admin = new RedisClient(redis.url(0));
  await admin.connect();
  store = await openRedisStore({ url: redis.url(0) });
});
afterAll(async () => {
  await store?.close();
  admin?.close();
  await redis?.close();
});

/** Calls per command (the commands scripts ran included), without the scripts and this probe. */
async function commandCalls(): Promise<Record<string, number>> {
  const info = String(await admin.send("INFO", ["commandstats"]));
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const [, name, count] = match;
    if (!/^(evalsha|evalsha_ro|info|config|script)/.test(name!)) calls[name!] = Number(count);
  }
  return calls;
}

/** The commands Redis ran for `work` alone. */
async function workOf(work: () => Promise<unknown>): Promise<Record<string, number>> {
  await admin.send("CONFIG", ["RESETSTAT"]);
  await work();
  return commandCalls();
}

async function userWith(live: number, ended: number, now: number): Promise<string> {
  const user = newUser();
  for (let start = 0; start < ended; start += 500) {
    const batch = Array.from({ length: Math.min(500, ended - start) }, (_, i) =>
      store.sessions.create(newRow(user, now + start + i), 0, events),
    );
    await Promise.all(batch);
  }
  if (ended > 0) expect(await store.sessions.revokeUserSessions(user, "logout_all", now + ended, events)).toBe(ended);
  for (let i = 0; i < live; i++) await store.sessions.create(newRow(user, now + ended + 1 + i), 100, events);
  return user;
}

test("a user with 10,000 ended sessions costs a create, a listing and a logout everywhere what a new user costs", async () => {
  const now = T0;
  const heavy = await userWith(LIVE, ENDED, now);
  const fresh = await userWith(LIVE, 0, now);
  expect(Number(await admin.send("ZCARD", [`sessions:u:${heavy}`]))).toBe(ENDED + LIVE);
  const at = now + ENDED + 100;

  const createHeavy = await workOf(() => store.sessions.create(newRow(heavy, at), 100, events));
  const createFresh = await workOf(() => store.sessions.create(newRow(fresh, at), 100, events));
  expect(createHeavy).toEqual(createFresh);
  // The live set is what a create reads: one HGETALL per session the user holds now.
  expect(createHeavy.hgetall).toBe(LIVE);

  const listHeavy = await workOf(() => store.sessions.listActiveSessions(heavy, at));
  expect(listHeavy).toEqual(await workOf(() => store.sessions.listActiveSessions(fresh, at)));
  expect(listHeavy.hgetall).toBe(LIVE + 1);

  const revokeHeavy = await workOf(() => store.sessions.revokeUserSessions(heavy, "logout_all", at + 1, events));
  expect(revokeHeavy).toEqual(
    await workOf(() => store.sessions.revokeUserSessions(fresh, "logout_all", at + 1, events)),
  );
  expect(revokeHeavy.hgetall).toBe(LIVE + 1);
});
