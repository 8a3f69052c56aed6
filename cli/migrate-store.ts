/**
 * Applies pending schema migrations to the configured store and counts how many this run applied,
 * for `sessionctl migrate`. It uses each dialect's own migration function (the one the server runs
 * at start) and opens the database alone, without the core: no SECRET_KEY, no signing key made.
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { sqlitePath, storeKind } from "../db/open-store";
import { applyMigrations as applyPostgresMigrations } from "../db/postgres/migrate";
import { openConnection } from "../db/sqlite/database";
import { applyMigrations as applySqliteMigrations } from "../db/sqlite/migrate";
import type { Config } from "../server/config";

function migrateSqlite(config: Config): number {
  const path = sqlitePath(config.databaseUrl);
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const client = openConnection({
    path,
    synchronous: config.sqliteSynchronous,
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
  });
  try {
    return applySqliteMigrations(drizzle(client));
  } finally {
    client.close();
  }
}

/** How many migrations this call applied (0: the schema was already up to date). */
export async function migrateStore(config: Config): Promise<number> {
  const kind = storeKind(config.databaseUrl);
  if (kind === "sqlite") return migrateSqlite(config);
  // Redis has no schema to migrate; the store checks its data layout version when it opens.
  if (kind === "redis") return 0;
  return applyPostgresMigrations(config.databaseUrl);
}
