import { sql } from "drizzle-orm";
import type { PgDriver } from "./driver";
import { toUnavailable } from "./errors";

export const PG_MIGRATIONS = new URL("./migrations", import.meta.url).pathname;

/** Key of the session-level advisory lock that serialises migrations (any fixed bigint will do). */
const MIGRATION_LOCK_KEY = 0x5e5510_4d16;

/**
 * Applies pending migrations, safely when several instances start at once.
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
export async function applyMigrations(driver: PgDriver, url: string): Promise<void> {
  const client = driver.connect(url, {
    max: 1,
    params: { lock_timeout: 0, statement_timeout: 0, application_name: "session-service migrate" },
    connectTimeoutSeconds: 10,
  });
  try {
    await client.db.execute(sql`select pg_advisory_lock(${sql.raw(String(MIGRATION_LOCK_KEY))})`);
    await client.migrate(PG_MIGRATIONS);
    await client.db.execute(sql`select pg_advisory_unlock(${sql.raw(String(MIGRATION_LOCK_KEY))})`);
  } catch (error) {
    throw toUnavailable(error);
  } finally {
    // Closing the connection also releases the lock when a step above failed.
    await client.close();
  }
}
