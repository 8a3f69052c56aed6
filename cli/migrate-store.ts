/**
 * Applies pending schema migrations to the configured store and counts how many this run applied,
 * for `sessionctl migrate`. It uses each dialect's own migration function (the one the server runs
 * at start) and opens the database alone, without the core: no SECRET_KEY, no signing key made.
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { RedisClient } from "bun";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { openStore, sqlitePath, storeKind } from "../db/open-store";
import { keysOf } from "../db/redis/keys";
import { parseRedisUrl } from "../db/redis/options";
import { LAYOUT_VERSION } from "../db/redis/server-checks";
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
  if (kind === "redis") return migrateRedis(config);
  // Loaded only here: PostgreSQL's driver cost every other sessionctl command about 10 ms to load.
  const { applyMigrations } = await import("../db/postgres/migrate");
  return applyMigrations(config.databaseUrl);
}

/** Redis has no schema, but a data layout: opening the store for writing converts layout 1 (db/redis/migrate.ts). */
async function migrateRedis(config: Config): Promise<number> {
  const { url, prefix } = parseRedisUrl(config.databaseUrl);
  const client = new RedisClient(url, { autoReconnect: false, connectionTimeout: 5000 });
  let before: string | null;
  try {
    before = (await client.get(keysOf(prefix).layout)) ?? null;
  } finally {
    client.close();
  }
  await (await openStore(config)).close();
  return before !== null && before !== LAYOUT_VERSION ? 1 : 0;
}
