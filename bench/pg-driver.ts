/**
 * Driver benchmark: Bun's built-in SQL client (the one db/postgres uses) against postgres-js, both
 * through Drizzle, on the store's hot path (find = the session read of every validate and refresh,
 * rotate = the refresh compare-and-swap, committed with fsync), with the store itself as the
 * reference (Bun's client with its own statements, db/postgres/queries.ts); plus how each behaves
 * when the server drops every connection. Figures go into the README (PostgreSQL).
 *
 *   bun bench/pg-driver.ts            (PostgreSQL on 127.0.0.1:5432, trust auth)
 *
 * Bounded on purpose: fixed operation counts, a scratch database that is dropped at the end, and
 * only a server on this machine (a benchmark must never load a shared database by mistake).
 */
import { SQL } from "bun";
import { and, eq, sql } from "drizzle-orm";
import { drizzle as bunSqlDrizzle } from "drizzle-orm/bun-sql";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as postgresJsDrizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { connect } from "../db/postgres/database";
import * as schema from "../db/postgres/schema";
import { openPostgresStore } from "../db/postgres/store";
import { activeAt } from "../db/sql/conditions";
import { eventFactory } from "../server/core/events";
import type { SessionRow } from "../server/core/ports";

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const SESSIONS = 2_000;
const SEQUENTIAL = 2_000;
const CONCURRENT = 20_000;
const CONCURRENCY = 64;
const POOL = 10;
const ROUNDS = 3;
const APP = "session-service";

const T0 = Date.parse("2026-11-30T00:00:00.000Z");
const IDLE = 14 * 86_400_000;
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
    name: null,
    dpopJkt: null,
    mac: "bench",
    createdAt: T0,
    lastUsedAt: T0,
    absoluteExpiresAt: T0 + 30 * 86_400_000,
    expiresAt: T0 + IDLE,
    accessExpiresAt: T0 + 900_000,
    revokedAt: null,
    revokeReason: null,
  };
}

/** What is measured: a session read and a rotation, by session id; `rotate` answers whether it swapped. */
interface Client {
  name: string;
  find(sessionId: string, now: number): Promise<unknown>;
  rotate(sessionId: string, presented: string, next: string, now: number): Promise<boolean>;
  close(): Promise<void>;
}

type PgDb = PgDatabase<PgQueryResultHKT, typeof schema>;
const p = sql.placeholder;
const { sessions } = schema;

/** The store's two statements, written with Drizzle and prepared once on `db`. */
function throughDrizzle(name: string, db: PgDb, close: () => Promise<void>): Client {
  const find = db
    .select()
    .from(sessions)
    .where(and(eq(sessions.sessionId, p("id")), activeAt(sessions, p("now"))))
    .prepare("find");
  const rotate = db
    .update(sessions)
    .set({
      previousTokenHash: sql`${sessions.refreshTokenHash}`,
      refreshTokenHash: sql`${p("next")}`,
      rotatedAt: sql`${p("now")}`,
      rotationCount: sql`${sessions.rotationCount} + 1`,
      lastUsedAt: sql`${p("now")}`,
      expiresAt: sql`least(${sessions.absoluteExpiresAt}, ${p("now")}::bigint + ${IDLE})`,
    })
    .where(
      and(eq(sessions.sessionId, p("id")), eq(sessions.refreshTokenHash, p("presented")), activeAt(sessions, p("now"))),
    )
    .returning()
    .prepare("rotate");
  return {
    name,
    find: (id, now) => find.execute({ id, now }),
    rotate: async (id, presented, next, now) => (await rotate.execute({ id, presented, next, now })).length === 1,
    close,
  };
}

const clients: Record<string, (url: string) => Promise<Client>> = {
  "bun-sql": async (url) => {
    const client = connect(url, { max: POOL, params: { application_name: APP }, connectTimeoutSeconds: 5 });
    const db = bunSqlDrizzle({ client, schema }) as unknown as PgDb;
    return throughDrizzle("bun-sql", db, () => client.close({ timeout: 5 }));
  },
  "postgres-js 3.4.9": async (url) => {
    const client = postgres(url, {
      database: new URL(url).pathname.slice(1),
      max: POOL,
      connection: { application_name: APP },
      idle_timeout: 60,
      onnotice: () => {},
    });
    const db = postgresJsDrizzle({ client, schema }) as unknown as PgDb;
    return throughDrizzle("postgres-js 3.4.9", db, () => client.end({ timeout: 5 }));
  },
  "store (bun-sql)": async (url) => {
    const store = await openPostgresStore({ url, poolSize: POOL });
    return {
      name: "store (bun-sql)",
      find: (id, now) => store.sessions.findActiveSession(id, now),
      rotate: async (sessionId, presentedHash, newHash, now) =>
        (await store.sessions.rotate({
          sessionId,
          presentedHash,
          newHash,
          nonce: "n",
          now,
          idleDeadline: now + IDLE,
          accessExpiresAt: now + 900_000,
        })) !== null,
      close: () => store.close(),
    };
  },
};

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

/** Kills the client's connections from outside; how long until it answers again, what it threw meanwhile, how long close() takes. */
async function connectionLoss(client: Client, admin: SQL, database: string, probe: string) {
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database} and application_name = ${APP}`;
  const started = performance.now();
  const errors = new Set<string>();
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await client.find(probe, T0);
      break;
    } catch (error) {
      // Drizzle wraps the client's error (its message carries the parameters): name the client's code.
      const cause = (error as { cause?: { code?: string } }).cause ?? (error as { code?: string });
      errors.add(cause.code ?? (error as Error).name);
    }
  }
  const recoveredMs = performance.now() - started;
  const closing = performance.now();
  await client.close();
  return { recoveredMs, errors: [...errors].join(",") || "none", closeMs: performance.now() - closing };
}

async function measure(open: (url: string) => Promise<Client>, url: string, admin: SQL, database: string) {
  // The store's open migrates the scratch database; seeding goes through the store too.
  const seeder = await openPostgresStore({ url, poolSize: POOL });
  await admin.unsafe("truncate sessions, outbox");
  const rows = Array.from({ length: SESSIONS }, (_, i) => newRow(i));
  const events = eventFactory(() => Bun.randomUUIDv7());
  await run(rows.length, 20, (i) => seeder.sessions.create(rows[i]!, 0, events));
  await seeder.close();
  const client = await open(url);
  const current = rows.map((r) => r.refreshTokenHash);
  let now = T0 + 1000;
  const find = (i: number) => client.find(rows[i % SESSIONS]!.sessionId, now);
  const rotate = async (i: number) => {
    const k = i % SESSIONS;
    const next = hash();
    now += 1;
    if (!(await client.rotate(rows[k]!.sessionId, current[k]!, next, now)))
      throw new Error("bench: expected a rotation");
    current[k] = next;
  };
  await run(1_000, 8, find); // warm-up: connections opened, statements prepared
  await run(500, 8, rotate);
  return {
    findSeq: await run(SEQUENTIAL, 1, find),
    findConc: await run(CONCURRENT, CONCURRENCY, find),
    rotateSeq: await run(SEQUENTIAL, 1, rotate),
    rotateConc: await run(CONCURRENT / 2, CONCURRENCY, rotate),
    loss: await connectionLoss(client, admin, database, rows[0]!.sessionId),
  };
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
      "| client | run | find p50 µs | find p99 µs | find ops/s (c=64) | rotate p50 µs | rotate p99 µs | rotate ops/s (c=64) | after connection loss: recovered ms / errors / close ms |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|");
    const names = Object.keys(clients);
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotate the order each round so no client always runs on a warmer server.
      const order = names.map((_, i) => names[(i + round - 1) % names.length]!);
      for (const name of order) {
        const r = await measure(clients[name]!, url, scoped, database);
        console.log(
          `| ${name} | ${round} | ${us(r.findSeq.p50)} | ${us(r.findSeq.p99)} | ${r.findConc.opsPerSec} | ${us(r.rotateSeq.p50)} | ${us(r.rotateSeq.p99)} | ${r.rotateConc.opsPerSec} | ${Math.round(r.loss.recoveredMs)} / ${r.loss.errors} / ${Math.round(r.loss.closeMs)} |`,
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
