/**
 * Relay benchmark (issue 3): how fast the outbox relay moves events into JetStream, next to the raw
 * JetStream publish rate of this machine measured in the same run, and how long a logout's event
 * takes to reach the stream while the relay is idle. Everything runs on 127.0.0.1 and stops itself.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect } from "nats";
import { outbox } from "../db/sqlite/schema";
import { openSqliteStore } from "../db/sqlite/store";
import { NatsLink } from "../server/events/nats-link";
import { OutboxRelay } from "../server/events/relay";
import { ensureStream } from "../server/events/streams";
import { createLogger } from "../server/logger";
import { SERVICE_KEY, tempDir } from "../test/support/core";
import { startNats } from "../test/support/nats";
import { postJson, startServer } from "../test/support/server";
import { waitFor } from "../test/support/wait";
import { percentile } from "./stats";

const EVENTS = Number(process.env.BENCH_RELAY_EVENTS ?? 50_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_RELAY_SAMPLES ?? 200);
const BATCH = 512;

function eventPayload(i: number): { id: string; payload: string } {
  const id = Bun.randomUUIDv7();
  const sessionId = Bun.randomUUIDv7();
  const now = new Date().toISOString();
  const event = {
    specversion: "1.0",
    id,
    source: "session-service",
    type: "session.created",
    subject: sessionId,
    time: now,
    datacontenttype: "application/json",
    data: {
      session_id: sessionId,
      user_id: `bench-${i}`,
      user_agent: "bench",
      ip: "127.0.0.1",
      created_at: now,
      expires_at: now,
    },
  };
  return { id, payload: JSON.stringify(event) };
}

/** Raw JetStream: pipelined publishes with Nats-Msg-Id in batches, the ceiling for the relay. */
async function rawPublishRate(url: string, events: Array<{ id: string; payload: string }>): Promise<number> {
  const nc = await connect({ servers: url });
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, "RAWBENCH", ["rawbench.>"]);
  const js = nc.jetstream();
  // Warm up the connection and the stream, as the relay is warm by the time it is measured.
  await Promise.all(
    events.slice(0, BATCH).map((e) => js.publish("rawbench.warmup", e.payload, { msgID: `warm-${e.id}` })),
  );
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    await Promise.all(
      events
        .slice(i, i + BATCH)
        .map((e) =>
          js.publish("rawbench.created", e.payload, { msgID: `raw-${e.id}`, expect: { streamName: "RAWBENCH" } }),
        ),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await nc.close();
  return events.length / seconds;
}

/** The relay over a real SQLite outbox (synchronous=FULL), from a full backlog to empty. */
async function relayRate(url: string, events: Array<{ id: string; payload: string }>): Promise<number> {
  const dir = tempDir("bench-relay-");
  const store = await openSqliteStore({ path: join(dir, "sessions.db"), synchronous: "FULL", busyTimeoutMs: 5000 });
  const now = Date.now();
  for (let i = 0; i < events.length; i += 1000) {
    store.database.db
      .insert(outbox)
      .values(
        events
          .slice(i, i + 1000)
          .map((e) => ({ id: e.id, subject: "session.created", payload: e.payload, createdAt: now })),
      )
      .run();
  }
  const logger = createLogger("silent");
  const link = new NatsLink(url, logger);
  await link.connected();
  const relay = new OutboxRelay(store, link, logger, { batchSize: BATCH });
  const started = performance.now();
  relay.start();
  await waitFor("outbox drained", async () => (await store.outbox.pendingEvents(1)).length === 0, 300_000, 5);
  const seconds = (performance.now() - started) / 1000;
  await relay.stop();
  await link.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return events.length / seconds;
}

/** From a logout's 204 to its session.revoked arriving from NATS, with the relay idle between logouts. */
async function logoutToEventLatency(url: string): Promise<number[]> {
  const dir = tempDir("bench-latency-");
  const server = await startServer(dir, { NATS_URL: url });
  const nc = await connect({ servers: url });
  const arrived = new Map<string, number>();
  const sub = nc.subscribe("session.revoked", {
    callback: (_err, msg) => arrived.set(JSON.parse(msg.string()).subject, performance.now()),
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const created = await postJson(
        `${server.url}/session`,
        { user_id: `lat-${i}` },
        { authorization: `Bearer ${SERVICE_KEY}` },
      );
      const pair = (await created.json()) as { session_id: string; refresh_token: string };
      await Bun.sleep(20); // let the relay go idle again
      await postJson(`${server.url}/session/revoke`, { refresh_token: pair.refresh_token });
      const answered = performance.now();
      const at = await waitFor("revoked event", () => arrived.get(pair.session_id), 5_000, 1);
      latencies.push(at - answered);
    }
  } finally {
    sub.unsubscribe();
    await nc.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return latencies;
}

export interface RelayFigures {
  rawPerSecond: number;
  relayPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

export async function benchRelay(): Promise<RelayFigures> {
  const nats = await startNats();
  try {
    const rawPerSecond = await rawPublishRate(
      nats.url,
      Array.from({ length: EVENTS }, (_, i) => eventPayload(i)),
    );
    const relayPerSecond = await relayRate(
      nats.url,
      Array.from({ length: EVENTS }, (_, i) => eventPayload(i)),
    );
    const latencies = await logoutToEventLatency(nats.url);
    return {
      rawPerSecond,
      relayPerSecond,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
    };
  } finally {
    await nats.cleanup();
  }
}

if (import.meta.main) {
  const f = await benchRelay();
  console.log(`relay: ${EVENTS} events`);
  console.log(`  raw JetStream publish (ceiling): ${f.rawPerSecond.toFixed(0)} events/s`);
  console.log(
    `  outbox relay:                    ${f.relayPerSecond.toFixed(0)} events/s (${((100 * f.relayPerSecond) / f.rawPerSecond).toFixed(0)} % of raw)`,
  );
  console.log(
    `  logout 204 → event (idle relay): p50 ${f.latencyP50Ms.toFixed(1)} ms, p99 ${f.latencyP99Ms.toFixed(1)} ms`,
  );
}
