/**
 * Driver benchmark: Bun's built-in SQL client vs postgres-js, both through Drizzle and through
 * PostgresStore itself, on the hot path (findActiveByTokenHash = validate/refresh lookups, rotate =
 * refresh), plus how each behaves when the server drops every connection. Figures go into the README (PostgreSQL).
 *
 *   bun db/postgres/bench-driver.ts            (PostgreSQL on 127.0.0.1:5432, trust auth)
 *
 * Bounded on purpose: fixed operation counts, a scratch database that is dropped at the end, and
 * only a server on this machine (a benchmark must never load a shared database by mistake).
 */
import { SQL } from "bun";
import { eventFactory } from "../../server/core/events";
import type { SessionRow, SessionStore } from "../../server/core/ports";
import type { PgDriver } from "./driver";
import { bunSqlDriver } from "./drivers/bun-sql";
import { postgresJsDriver } from "./drivers/postgres-js";
import { PostgresStore } from "./store";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const SESSIONS = 2_000;
const SEQUENTIAL = 2_000;
const CONCURRENT = 20_000;
const CONCURRENCY = 64;
const POOL = 10;
const ROUNDS = 3;

const events = eventFactory(() => Bun.randomUUIDv7());
const T0 = Date.parse("2026-11-30T00:00:00.000Z");
const hash = () => `hash-${crypto.randomUUID()}`;

function newRow(i: number): SessionRow {
  return {
    sessionId: Bun.randomUUIDv7(),
    userId: `bench-user-${i % 500}`,
    refreshTokenHash: hash(),
    previousTokenHash: null,
    rotationNonce: null,
    rotatedAt: null,
    rotationCount: 0,
    userAgent: "bench/1.0",
    ip: "192.0.2.1",
    claims: null,
    createdAt: T0,
    lastUsedAt: T0,
    absoluteExpiresAt: T0 + 30 * 86_400_000,
    expiresAt: T0 + 14 * 86_400_000,
    accessExpiresAt: T0 + 900_000,
    revokedAt: null,
    revokeReason: null,
  };
}

/** Runs `total` calls of `op(i)` with `workers` in flight; worker w gets i ≡ w (mod workers). */
async function run(
  total: number,
  workers: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ opsPerSec: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = w; i < total; i += workers) {
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { opsPerSec: Math.round((total / elapsed) * 1000), p50: at(0.5), p99: at(0.99) };
}

/** Kills the store's connections from outside; how long until it answers again, what it threw meanwhile, how long close() takes. */
async function connectionLoss(store: SessionStore, admin: SQL, database: string, probe: string) {
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database} and application_name = 'session-service'`;
  const started = performance.now();
  const errors = new Set<string>();
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await store.findActiveByTokenHash(probe, T0);
      break;
    } catch (error) {
      errors.add((error as { code?: string }).code ?? String(error));
    }
  }
  const recoveredMs = performance.now() - started;
  const closing = performance.now();
  await store.close();
  return { recoveredMs, errors: [...errors].join(",") || "none", closeMs: performance.now() - closing };
}

async function measure(driver: PgDriver, url: string, admin: SQL, database: string) {
  const store = await PostgresStore.open({ url, driver, poolSize: POOL });
  await admin.unsafe("truncate sessions, retired_refresh_tokens, outbox");
  const rows = Array.from({ length: SESSIONS }, (_, i) => newRow(i));
  await run(rows.length, 20, (i) => store.createSession({ row: rows[i]!, maxSessionsPerUser: 0 }, events));
  const current = rows.map((r) => r.refreshTokenHash);
  let now = T0 + 1000;
  const find = (i: number) => store.findActiveByTokenHash(current[i % SESSIONS]!, now);
  const rotate = async (i: number) => {
    const k = i % SESSIONS;
    const next = hash();
    now += 1;
    const result = await store.rotate(
      {
        presentedHash: current[k]!,
        newHash: next,
        nonce: "n",
        now,
        idleTimeoutMs: 14 * 86_400_000,
        graceMs: 10_000,
        accessExpiresAt: now + 900_000,
      },
      events,
    );
    if (result.kind !== "rotated") throw new Error(`bench: expected a rotation, got ${result.kind}`);
    current[k] = next;
  };
  await run(1_000, 8, find); // warm-up: connections opened, statements prepared
  await run(500, 8, rotate);
  const result = {
    findSeq: await run(SEQUENTIAL, 1, find),
    findConc: await run(CONCURRENT, CONCURRENCY, find),
    rotateSeq: await run(SEQUENTIAL, 1, rotate),
    rotateConc: await run(CONCURRENT / 2, CONCURRENCY, rotate),
    loss: await connectionLoss(store, admin, database, current[0]!),
  };
  return result;
}

const us = (ms: number) => `${Math.round(ms * 1000)}`;

async function main() {
  const admin = new SQL({ url: ADMIN_URL, max: 1 });
  const database = `session_bench_${Bun.randomUUIDv7().replaceAll("-", "").slice(-12)}`;
  await admin.unsafe(`create database "${database}"`);
  const url = ADMIN_URL.replace(/\/postgres$/, `/${database}`);
  const scoped = new SQL({ url, database, max: 1 });
  try {
    console.log(
      `bun ${Bun.version}; ${SESSIONS} sessions, pool ${POOL}, sequential ${SEQUENTIAL} ops, concurrent ${CONCURRENCY} in flight\n`,
    );
    console.log(
      "| driver | run | find p50 µs | find p99 µs | find ops/s (c=64) | rotate p50 µs | rotate p99 µs | rotate ops/s (c=64) | after connection loss: recovered ms / errors / close ms |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate the order each round so neither driver always runs on a warmer server.
      const order = round % 2 === 1 ? [bunSqlDriver, postgresJsDriver] : [postgresJsDriver, bunSqlDriver];
      for (const driver of order) {
        const r = await measure(driver, url, scoped, database);
        console.log(
          `| ${driver.name} | ${round} | ${us(r.findSeq.p50)} | ${us(r.findSeq.p99)} | ${r.findConc.opsPerSec} | ${us(r.rotateSeq.p50)} | ${us(r.rotateSeq.p99)} | ${r.rotateConc.opsPerSec} | ${Math.round(r.loss.recoveredMs)} / ${r.loss.errors} / ${Math.round(r.loss.closeMs)} |`,
        );
      }
    }
  } finally {
    await scoped.close();
    await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.close();
  }
}

await main();
