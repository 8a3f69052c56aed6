import { readFileSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";

/** Any Drizzle database over bun:sqlite, whatever its schema. */
type SqliteDb = BunSQLiteDatabase<Record<string, unknown>>;

export const SQLITE_MIGRATIONS = new URL("./migrations", import.meta.url).pathname;

/** How many migrations drizzle has recorded as applied (0 before the first one). */
function appliedCount(db: SqliteDb): number {
  try {
    // all(), not get(): for raw SQL get() returns the row as an array of values.
    return db.all<{ n: number }>(sql`select count(*) as n from __drizzle_migrations`)[0]?.n ?? 0;
  } catch {
    return 0; // the bookkeeping table does not exist yet
  }
}

/**
 * Applies pending migrations and returns how many this call applied (`sessionctl migrate` reports
 * it). drizzle's migrator reads the applied list before it takes the lock, so two processes
 * starting at once can race; the loser fails on "already exists" and simply tries again, then
 * finds nothing left to do.
 */
export function applyMigrations(db: SqliteDb): number {
  const before = appliedCount(db);
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
      return Math.max(0, appliedCount(db) - before);
    } catch (error) {
      if (attempt >= 5) throw error;
      Bun.sleepSync(50 * attempt);
    }
  }
}

/** How many migrations of this build are not applied yet (read-only commands refuse to read an old schema). */
export function pendingMigrations(db: SqliteDb): number {
  const journal = JSON.parse(readFileSync(`${SQLITE_MIGRATIONS}/meta/_journal.json`, "utf8")) as { entries: unknown[] };
  return Math.max(0, journal.entries.length - appliedCount(db));
}
