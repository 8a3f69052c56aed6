import { readFileSync } from "node:fs";
import type { SQL } from "bun";
import { drizzle } from "drizzle-orm/bun-sql";
import { migrate } from "drizzle-orm/bun-sql/migrator";
import { connect } from "./database";
import { toUnavailable } from "./errors";

export const PG_MIGRATIONS = new URL("./migrations", import.meta.url).pathname;

/** Key of the session-level advisory lock that serialises migrations (any fixed bigint will do). */
const MIGRATION_LOCK_KEY = 0x5e5510_4d16;

/** How many migrations drizzle has recorded as applied (0 before the first one). */
export async function appliedMigrations(client: SQL): Promise<number> {
  const [table] = await client`select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
  if (!table.present) return 0;
  const [row] = await client`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return row.n as number;
}

/** How many migrations this build has. */
export function knownMigrations(): number {
  const journal = JSON.parse(readFileSync(`${PG_MIGRATIONS}/meta/_journal.json`, "utf8")) as { entries: unknown[] };
  return journal.entries.length;
}

/**
 * Applies pending migrations, safely when several instances start at once, and returns how many
 * this call applied (`sessionctl migrate` reports it).
 *
 * drizzle's migrator creates its schema and table, reads the last applied migration and only then
 * opens its transaction, so two instances migrating together could both decide to apply the same
 * file (and even race on CREATE SCHEMA). Every instance therefore first takes one PostgreSQL
 * advisory lock (pg_advisory_lock) and holds it for the whole migration: the others wait, then
 * find nothing left to do. The lock belongs to a connection, so all of it runs on a client of its
 * own with exactly one connection; and that client has no lock or statement timeout, because an
 * instance should wait for a long migration rather than give up. If the process dies, PostgreSQL
 * drops the connection and with it the lock.
 */
export async function applyMigrations(url: string): Promise<number> {
  const client = connect(url, {
    max: 1,
    params: { lock_timeout: 0, statement_timeout: 0, application_name: "session-service migrate" },
    connectTimeoutSeconds: 10,
  });
  try {
    await client.unsafe(`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    const before = await appliedMigrations(client);
    await migrate(drizzle({ client }), { migrationsFolder: PG_MIGRATIONS });
    const applied = (await appliedMigrations(client)) - before;
    await client.unsafe(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    return applied;
  } catch (error) {
    throw toUnavailable(error);
  } finally {
    // Closing the connection also releases the lock when a step above failed.
    await client.close();
  }
}
