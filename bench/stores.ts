/**
 * The stores a server is benchmarked on: SQLite with synchronous FULL or NORMAL in a temporary
 * folder, PostgreSQL in a scratch database on the local server (dropped afterwards), Redis in a
 * logical database of the local server (flushed before and after), and hybrid mode (that
 * PostgreSQL as the record with that Redis as the read cache).
 */
import { openStore, type StoreSettings } from "../db/open-store";
import type { SessionStore } from "../server/core/ports";
import { tempDir } from "../test/support/core";
import { createTestDatabase, POSTGRES_ADMIN_URL } from "../test/support/postgres";
import { flushTestRedis } from "../test/support/redis";
import { dbFile } from "../test/support/server";
import { removeAtExit, removeNow, undoOnInterrupt } from "./processes";
import { postgresWriter, type SeedWriter, sqliteWriter, storeWriter } from "./seed";

/** The server's store settings for a DATABASE_URL (its defaults otherwise). */
const storeSettings = (databaseUrl: string, extra: Partial<StoreSettings> = {}): StoreSettings => ({
  databaseUrl,
  sqliteSynchronous: "FULL",
  sqliteBusyTimeoutMs: 5000,
  ...extra,
});

export type StoreKey = "sqlite-full" | "sqlite-normal" | "postgres" | "redis" | "hybrid";

/** Logical databases of the local Redis the benchmark may flush (the tests use 14 and 15). */
const BENCH_REDIS_URL = "redis://127.0.0.1:6379/12";
const BENCH_CACHE_URL = "redis://127.0.0.1:6379/11";

export interface StoreTarget {
  key: StoreKey;
  label: string;
  /** The server's working folder (token files for wrk go here too). */
  dir: string;
  /** Settings the server gets on top of test/support/server.ts serverEnv(dir). */
  env: Record<string, string>;
  /** A connection that writes seed rows; `bulk` only while no server runs on the store. */
  writer(options?: { bulk?: boolean }): SeedWriter;
  /** The store as the server opens it (migrations applied). */
  open(): Promise<SessionStore>;
  /** Removes the folder and, for PostgreSQL, drops the scratch database. */
  drop(): Promise<void>;
}

export function sqliteTarget(synchronous: "FULL" | "NORMAL"): StoreTarget {
  const dir = removeAtExit(tempDir(`bench-sqlite-${synchronous.toLowerCase()}-`));
  const path = dbFile(dir);
  return {
    key: synchronous === "FULL" ? "sqlite-full" : "sqlite-normal",
    label: `SQLite ${synchronous}`,
    dir,
    env: { SQLITE_SYNCHRONOUS: synchronous },
    writer: (o) => sqliteWriter(path, o),
    // As the server opens it: the compare-and-swap ceiling is measured on the same configuration.
    open: () =>
      openStore(storeSettings(`sqlite:${path}`, { sqliteSynchronous: synchronous }), { backgroundCheckpoints: true }),
    drop: async () => removeNow(dir),
  };
}

/** `{ skipped }` with the reason when no PostgreSQL server answers on the local address. */
export async function postgresTarget(): Promise<StoreTarget | { skipped: string }> {
  const host = new URL(POSTGRES_ADMIN_URL).hostname;
  if (host !== "127.0.0.1") {
    return { skipped: `PostgreSQL is not at 127.0.0.1 (${host}); the benchmark sends traffic only there` };
  }
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  try {
    database = await createTestDatabase();
  } catch (error) {
    return { skipped: `PostgreSQL at ${new URL(POSTGRES_ADMIN_URL).host} unavailable: ${(error as Error).message}` };
  }
  const dir = removeAtExit(tempDir("bench-postgres-"));
  const url = database.url;
  const done = undoOnInterrupt(() => database.drop());
  return {
    key: "postgres",
    label: "PostgreSQL",
    dir,
    env: { DATABASE_URL: url },
    writer: () => postgresWriter(url),
    open: () => openStore(storeSettings(url)),
    drop: async () => {
      await database.drop();
      done();
      removeNow(dir);
    },
  };
}

/** Redis as the whole store, seeded through the store itself (its layout lives in Lua scripts). */
export async function redisTarget(): Promise<StoreTarget | { skipped: string }> {
  try {
    await flushTestRedis(BENCH_REDIS_URL);
  } catch (error) {
    return { skipped: (error as Error).message };
  }
  const dir = removeAtExit(tempDir("bench-redis-"));
  const open = () => openStore(storeSettings(BENCH_REDIS_URL));
  return {
    key: "redis",
    label: "Redis",
    dir,
    env: { DATABASE_URL: BENCH_REDIS_URL },
    writer: () => storeWriter(open),
    open,
    drop: async () => {
      await flushTestRedis(BENCH_REDIS_URL);
      removeNow(dir);
    },
  };
}

/** Hybrid mode: a scratch PostgreSQL database as the record, a Redis database as the read cache. */
export async function hybridTarget(): Promise<StoreTarget | { skipped: string }> {
  const pg = await postgresTarget();
  if ("skipped" in pg) return pg;
  try {
    await flushTestRedis(BENCH_CACHE_URL);
  } catch (error) {
    await pg.drop();
    return { skipped: (error as Error).message };
  }
  const url = pg.env.DATABASE_URL;
  return {
    ...pg,
    key: "hybrid",
    label: "Hybrid (PostgreSQL + Redis cache)",
    env: { DATABASE_URL: url, REDIS_URL: BENCH_CACHE_URL },
    open: () => openStore(storeSettings(url, { redisUrl: BENCH_CACHE_URL })),
    drop: async () => {
      await flushTestRedis(BENCH_CACHE_URL);
      await pg.drop();
    },
  };
}
