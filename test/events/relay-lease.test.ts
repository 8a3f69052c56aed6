/**
 * The relay's lease is a fence: a pass never waits on a publish past the moment its lease could
 * have expired, so a relay stuck on a JetStream that does not answer (a frozen node, a stream
 * without a leader) gives up before another instance may take the lease over. Before this, a
 * publish waited its own 5 s timeout whatever the lease's 1 s, and two relays published at once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { tempDir } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { client, ServerPool } from "../support/server";
import { waitFor } from "../support/wait";
import { cloudEvent, outboxState } from "./helpers";

const LEASE_MS = 1_000;
const pool = new ServerPool();
let dir: string;
let nats: RunningNats;
let bus: NatsClient;

beforeAll(async () => {
  dir = tempDir("session-relay-lease-");
  nats = await startNats();
  bus = await natsClient(nats.url);
});

afterAll(async () => {
  nats?.thaw();
  await pool.killAll();
  await bus?.close();
  await nats?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** When the server logged its first failed relay pass (pino's `time`), or null. */
function firstFailedPassAt(logs: string): number | null {
  for (const line of logs.split("\n")) {
    if (!line.includes("outbox relay pass failed")) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  return null;
}

test("NATS frozen mid-pass: the pass gives up within its lease, and every event still arrives once", async () => {
  const server = await pool.start(dir, {
    NATS_URL: nats.url,
    RELAY_LEASE_TTL: `${LEASE_MS}ms`,
    RELAY_POLL_INTERVAL: "100ms",
  });
  const api = client(server.url);
  expect((await api.create({ user_id: "before-freeze" })).status).toBe(201);
  await waitFor("the first event in SESSIONS", async () => (await bus.count("SESSIONS")) === 1);

  nats.freeze();
  const committedAt = Date.now();
  const created = await api.create({ user_id: "during-freeze" });
  expect(created.status).toBe(201);

  // The pass that takes this event holds a lease taken at the latest now, so it ends within LEASE_MS.
  const failedAt = await waitFor("a relay pass that gave up", async () => firstFailedPassAt(server.logs()), 10_000);
  expect(failedAt - committedAt).toBeLessThan(LEASE_MS);
  expect(outboxState(dir).unsent).toBe(1);

  nats.thaw();
  await waitFor("the frozen event delivered", async () => outboxState(dir).unsent === 0, 15_000);
  const ids = (await bus.readAll("SESSIONS")).map((message) => cloudEvent(message).id);
  expect(ids.length).toBe(2);
  expect(new Set(ids)).toEqual(new Set(outboxState(dir).ids));
  expect(await server.stop()).toBe(0);
}, 40_000);
