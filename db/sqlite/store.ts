/**
 * The SQLite store (the embedded default): its repositories over one connection, composed into a
 * SessionStore by `openSqliteStore`. Every write is one synchronous BEGIN IMMEDIATE transaction in
 * the group commit (database.ts), so SQLite's single writer makes each state change, and the outbox
 * rows it reports, atomic; the hot statements are prepared once (queries.ts).
 */
import { existsSync } from "node:fs";
import { sql } from "drizzle-orm";
import type { SessionStore } from "../../server/core/ports";
import { SqliteAdmin } from "./admin";
import { Checkpointer } from "./checkpointer";
import { SqliteDatabase, type SqliteSettings } from "./database";
import { applyMigrations, pendingMigrations } from "./migrate";
import { SqliteOutbox } from "./outbox";
import { prepareQueries } from "./queries";
import { SqliteLeases, SqliteServiceClients, SqliteSigningKeys } from "./registry";
import { SqliteSessions } from "./sessions";
import type { SyncFile } from "./wal-sync";

export interface SqliteOptions extends SqliteSettings {
  /** Most WAL checkpointing in a worker thread instead of inside a COMMIT (checkpointer.ts): the server does. */
  backgroundCheckpoints?: boolean;
  /** Test seam: the fdatasync that FULL's off-loop WAL sync uses (wal-sync.ts). */
  syncFile?: SyncFile;
}

export interface SqliteStore extends SessionStore {
  database: SqliteDatabase;
  checkpointer: Checkpointer | null;
}

/** Opens the file and applies pending migrations; read-only, it opens an existing, migrated file and writes nothing. */
export async function openSqliteStore(options: SqliteOptions): Promise<SqliteStore> {
  if (options.readOnly && !existsSync(options.path)) {
    throw new Error(`there is no store at ${options.path} yet (the server creates it on first start)`);
  }
  const database = new SqliteDatabase(options);
  try {
    if (!options.readOnly) applyMigrations(database.db);
    else if (pendingMigrations(database.db) > 0) {
      throw new Error("the store's schema is older than this version; run sessionctl migrate");
    }
  } catch (error) {
    database.close();
    throw error;
  }
  database.syncOffTheEventLoop(options.syncFile);
  const q = prepareQueries(database.client);
  const checkpointer =
    options.backgroundCheckpoints && !options.readOnly && options.path !== ":memory:"
      ? new Checkpointer(options)
      : null;
  return {
    database,
    checkpointer,
    sessions: new SqliteSessions(database, q),
    signingKeys: new SqliteSigningKeys(database),
    serviceClients: new SqliteServiceClients(database),
    leases: new SqliteLeases(database),
    outbox: new SqliteOutbox(database),
    admin: new SqliteAdmin(database),
    // Taking the write lock proves the file is writable and not locked past the busy timeout.
    checkWritable: () => database.write(() => database.db.run(sql`update signing_keys set kid = kid where 0`)),
    async close() {
      await checkpointer?.stop();
      database.close();
    },
  };
}
