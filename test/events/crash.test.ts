/**
 * The server SIGKILLed after JetStream acknowledged a batch and before the rows were marked sent
 * (SESSION_SERVICE_FAULT=relay-crash-after-publish): after a restart the rows are published again, and the stream
 * still holds each event exactly once (Nats-Msg-Id dedupe), with nothing left unsent.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { tempDir } from "../support/core";
import { type NatsClient, natsClient, type RunningNats, startNats } from "../support/nats";
import { client, freePort, type Pair, PROJECT_ROOT, ServerPool, serverEnv } from "../support/server";
import { waitFor } from "../support/wait";
import { bySession, cloudEvent, outboxState } from "./helpers";

const pool = new ServerPool();
const dirs: string[] = [];
let nats: RunningNats;
let bus: NatsClient;
let crashing: ReturnType<typeof spawn> | null = null;

beforeAll(async () => {
  nats = await startNats();
  bus = await natsClient(nats.url);
});

afterAll(async () => {
  crashing?.kill("SIGKILL");
  await pool.killAll();
  await bus?.close();
  await nats?.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("SIGKILL between PubAck and mark-sent: after restart each event is in the stream exactly once", async () => {
  const dir = tempDir("session-relay-crash-");
  dirs.push(dir);

  // Events written while no relay runs: 30 created, 10 revoked.
  let server = await pool.start(dir);
  const api = client(server.url);
  const pairs: Pair[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await api.create({ user_id: `crash-${i % 5}` });
    expect(res.status).toBe(201);
    pairs.push((await res.json()) as Pair);
  }
  for (const pair of pairs.slice(0, 10))
    expect((await api.logout(pair.access_token, pair.session_id)).status).toBe(204);
  expect(await server.stop()).toBe(0);
  expect(outboxState(dir).unsent).toBe(40);

  // The server with the fault injected: it relays one batch and kills itself before marking it.
  const { PATH, HOME } = process.env;
  crashing = spawn(["bun", join(PROJECT_ROOT, "server/main.ts")], {
    cwd: dir,
    env: {
      PATH: PATH ?? "",
      HOME: HOME ?? "",
      ...serverEnv(dir, { NATS_URL: nats.url, SESSION_SERVICE_FAULT: "relay-crash-after-publish" }),
      PORT: String(await freePort()),
    },
    stdout: "ignore",
    stderr: "ignore",
  });
  const died = await Promise.race([crashing.exited.then(() => true), Bun.sleep(20_000).then(() => false)]);
  expect(died).toBe(true);
  expect(crashing.signalCode).toBe("SIGKILL");
  crashing = null;

  // The batch is in the stream, yet no row was marked sent.
  const published = await bus.count("SESSIONS");
  expect(published).toBeGreaterThan(0);
  expect(outboxState(dir).unsent).toBe(40);

  // Restart without the fault: the relay sends everything again, JetStream drops the repeats.
  // The dead process still holds the relay lease (15 s TTL), so the new one takes over after it expires.
  server = await pool.start(dir, { NATS_URL: nats.url });
  await waitFor("outbox drained", () => outboxState(dir).unsent === 0, 30_000);
  const messages = await bus.readAll("SESSIONS");
  expect(messages.length).toBe(40);
  const docs = messages.map(cloudEvent);
  expect(new Set(docs.map((d) => d.id)).size).toBe(40);
  expect(new Set(docs.map((d) => d.id))).toEqual(new Set(outboxState(dir).ids));
  const grouped = bySession(docs);
  for (const [index, pair] of pairs.entries()) {
    expect(grouped.get(pair.session_id)!.map((d) => d.type)).toEqual(
      index < 10 ? ["session.created", "session.revoked"] : ["session.created"],
    );
  }
  expect(await server.stop()).toBe(0);
  expect(outboxState(dir).unsent).toBe(0);
  expect(await bus.count("SESSIONS")).toBe(40);
}, 60_000);
