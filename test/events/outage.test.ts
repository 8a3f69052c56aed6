/**
 * NATS away never slows or fails the API: events wait in the outbox (NATS stopped, or NATS_URL
 * not set at all) and are all delivered, each exactly once, when NATS is back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { client, type Pair, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";
import { bySession, cloudEvent, outboxState } from "./helpers";

const pool = new ServerPool();
const dirs: string[] = [];
let nats: RunningNats;
let bus: NatsClient;

beforeAll(async () => {
  nats = await startNats();
  bus = await natsClient(nats.url);
});

afterAll(async () => {
  await pool.killAll();
  await bus?.close();
  await nats?.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newDir() {
  const dir = tempDir("session-outage-");
  dirs.push(dir);
  return dir;
}

/** Every request of the outage must answer this fast (the relay must never be in its path). */
const FAST_MS = 500;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: performance.now() - start };
}

async function readyz(url: string) {
  const res = await client(url).readyz();
  return { status: res.status, body: (await res.json()) as { checks: { store: string; events: string } } };
}

/** The stream holds exactly the outbox's events, once each, created before revoked per session. */
async function expectExactlyDelivered(dir: string, created: string[], revoked: string[]) {
  const messages = await bus.readAll("SESSIONS");
  const docs = messages.map(cloudEvent);
  const ids = docs.map((d) => d.id);
  expect(ids.length).toBe(created.length + revoked.length);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(new Set(outboxState(dir).ids));
  const grouped = bySession(docs);
  expect(new Set(grouped.keys())).toEqual(new Set(created));
  for (const id of created) {
    expect(grouped.get(id)!.map((e) => e.type)).toEqual(
      revoked.includes(id) ? ["session.created", "session.revoked"] : ["session.created"],
    );
  }
  for (const id of revoked) expect(grouped.get(id)!.at(-1)!.data.reason).toBe("logout");
}

test("NATS stopped: 50 creates and 20 logouts answer fast; after NATS restarts exactly those 70 events arrive within 30 s", async () => {
  const dir = newDir();
  const server = await pool.start(dir, { NATS_URL: nats.url });
  const api = client(server.url);
  await waitFor("link connected", async () => (await readyz(server.url)).body.checks.events === "connected");

  await nats.stop();
  await waitFor("link reported down", async () => (await readyz(server.url)).body.checks.events !== "connected");

  const pairs: Pair[] = [];
  const slow: number[] = [];
  for (let i = 0; i < 50; i++) {
    const { value: res, ms } = await timed(() => api.create({ user_id: `outage-${i % 10}` }));
    expect(res.status).toBe(201);
    pairs.push((await res.json()) as Pair);
    if (ms > FAST_MS) slow.push(ms);
  }
  const loggedOut = pairs.slice(0, 20);
  for (const pair of loggedOut) {
    const { value: res, ms } = await timed(() => api.logout(pair.access_token, pair.session_id));
    expect(res.status).toBe(204);
    if (ms > FAST_MS) slow.push(ms);
  }
  expect(slow).toEqual([]);

  // Still ready (the store writes), and the event link is reported down.
  const ready = await readyz(server.url);
  expect(ready.status).toBe(200);
  expect(ready.body.checks).toEqual({ store: "ok", events: "disconnected" });
  expect(outboxState(dir).unsent).toBe(70);

  await nats.restart();
  const restartedAt = Date.now();
  await waitFor(
    "70 events in SESSIONS",
    async () => (await bus.count("SESSIONS")) >= 70 && outboxState(dir).unsent === 0,
    30_000,
    100,
  );
  expect(Date.now() - restartedAt).toBeLessThan(30_000);
  expect((await readyz(server.url)).body.checks.events).toBe("connected");
  await expectExactlyDelivered(
    dir,
    pairs.map((p) => p.session_id),
    loggedOut.map((p) => p.session_id),
  );
  expect(await server.stop()).toBe(0);
}, 90_000);

test("NATS_URL unset: the service runs and events wait in the outbox; restarted with NATS_URL they are all delivered", async () => {
  const dir = newDir();
  await bus.jsm.streams.delete("SESSIONS").catch(() => {});
  let server = await pool.start(dir);
  const api = client(server.url);
  expect(await readyz(server.url)).toEqual({ status: 200, body: { checks: { store: "ok", events: "disabled" } } });

  const pairs: Pair[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await api.create({ user_id: `no-nats-${i % 2}` });
    expect(res.status).toBe(201);
    pairs.push((await res.json()) as Pair);
  }
  expect((await api.logout(pairs[0]!.access_token, pairs[0]!.session_id)).status).toBe(204);
  expect((await api.revoke(pairs[1]!.refresh_token)).status).toBe(200);
  expect(outboxState(dir)).toMatchObject({ unsent: 8 });
  expect(await server.stop()).toBe(0);
  // Nothing was published anywhere while NATS_URL was unset.
  expect(await bus.count("SESSIONS")).toBe(0);
  expect(outboxState(dir).unsent).toBe(8);

  server = await pool.start(dir, { NATS_URL: nats.url });
  await waitFor(
    "8 events in SESSIONS",
    async () => (await bus.count("SESSIONS")) >= 8 && outboxState(dir).unsent === 0,
    15_000,
  );
  await expectExactlyDelivered(
    dir,
    pairs.map((p) => p.session_id),
    [pairs[0]!.session_id, pairs[1]!.session_id],
  );
  expect(await server.stop()).toBe(0);
}, 60_000);
