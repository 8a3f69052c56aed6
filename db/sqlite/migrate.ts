import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import type { BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";

export const SQLITE_MIGRATIONS = new URL("./migrations", import.meta.url).pathname;

/**
 * Applies pending migrations. drizzle's migrator reads the applied list before it takes the lock,
 * so two processes starting at once can race; the loser fails on "already exists" and simply
 * tries again, then finds nothing left to do.
 */
export function applyMigrations(db: BunSQLiteDatabase<any>): void {
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      Bun.sleepSync(50 * attempt);
    }
  }
}
