/**
 * The stores a server is benchmarked on: SQLite with synchronous FULL or NORMAL in a temporary
 * folder, and PostgreSQL in a scratch database on the local server (dropped afterwards).
 */
import { PostgresStore } from "../db/postgres/store";
import { SqliteStore } from "../db/sqlite/store";
import type { SessionStore } from "../server/core/ports";
import { tempDir } from "../test/support/core";
import { createTestDatabase, POSTGRES_ADMIN_URL } from "../test/support/postgres";
import { dbFile } from "../test/support/server";
import { removeAtExit, removeNow, undoOnInterrupt } from "./processes";
import { postgresWriter, sqliteWriter, type SeedWriter } from "./seed";

export type StoreKey = "sqlite-full" | "sqlite-normal" | "postgres";

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
  const options = { path: dbFile(dir), synchronous, busyTimeoutMs: 5000 };
  return {
    key: synchronous === "FULL" ? "sqlite-full" : "sqlite-normal",
    label: `SQLite ${synchronous}`,
    dir,
    env: { SQLITE_SYNCHRONOUS: synchronous },
    writer: (o) => sqliteWriter(options.path, o),
    open: async () => new SqliteStore(options),
    drop: async () => removeNow(dir),
  };
}

/** `{ skipped }` with the reason when no PostgreSQL server answers on the local address. */
export async function postgresTarget(): Promise<StoreTarget | { skipped: string }> {
  const host = new URL(POSTGRES_ADMIN_URL).hostname;
  if (host !== "127.0.0.1") {
    return { skipped: `PostgreSQL is not at 127.0.0.1 (${host}); the benchmark sends traffic only there` };
  }
  let database;
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
    open: () => PostgresStore.open({ url }),
    drop: async () => {
      await database.drop();
      done();
      removeNow(dir);
    },
  };
}
