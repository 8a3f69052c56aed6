/**
 * The PostgreSQL store: its repositories over one pool of Bun's SQL client, composed into a
 * SessionStore by `openPostgresStore`, with exactly the semantics of the SQLite store. Where
 * SQLite gets atomicity from its single writer, this store uses single statements for the hot path
 * (the rotation compare-and-swap is one UPDATE … RETURNING, with a DPoP proof's jti recorded in the
 * same statement), READ COMMITTED transactions for changes that write outbox rows, and a per-user transaction-scoped
 * advisory lock in create, revokeUserSessions and deleteUser, so the session cap and the
 * deleted-user mark hold under concurrency (sessions.ts). Every connection opens with
 * lock_timeout and statement_timeout; a timeout, a lost connection and the like surface as
 * ServiceError("unavailable") (errors.ts), never as a raw driver error.
 */
import { sql } from "drizzle-orm";
import type { SessionStore } from "../../server/core/ports";
import { PostgresAdmin } from "./admin";
import { PostgresDatabase, type PostgresSettings } from "./database";
import { appliedMigrations, applyMigrations, knownMigrations } from "./migrate";
import { PostgresOutbox } from "./outbox";
import { queries } from "./queries";
import { PostgresLeases, PostgresServiceClients, PostgresSigningKeys } from "./registry";
import { PostgresSessions } from "./sessions";

export type PostgresOptions = PostgresSettings;

export interface PostgresStore extends SessionStore {
  database: PostgresDatabase;
}

/** Read-only: the schema must be this build's; a read-only pool could not migrate it. */
async function refuseOldSchema(database: PostgresDatabase): Promise<void> {
  const applied = await database.statement(() => appliedMigrations(database.client));
  if (applied === 0) throw new Error("the database holds no session store yet (the server creates it on first start)");
  if (applied < knownMigrations()) {
    throw new Error("the store's schema is older than this version; run sessionctl migrate");
  }
}

/**
 * Applies pending migrations (under an advisory lock, see migrate.ts), then opens the pool.
 * Read-only, it migrates nothing and every transaction of its pool is read-only.
 */
export async function openPostgresStore(options: PostgresOptions): Promise<PostgresStore> {
  if (!options.readOnly) await applyMigrations(options.url);
  const database = new PostgresDatabase(options);
  try {
    if (options.readOnly) await refuseOldSchema(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return {
    database,
    sessions: new PostgresSessions(database, queries),
    signingKeys: new PostgresSigningKeys(database),
    serviceClients: new PostgresServiceClients(database),
    leases: new PostgresLeases(database),
    outbox: new PostgresOutbox(database),
    admin: new PostgresAdmin(database),
    // An UPDATE that matches nothing still fails on a read-only server (a standby after failover)
    // and needs a live connection: exactly what readiness asks.
    checkWritable: () =>
      database.statement(async () => {
        await database.db.execute(sql`update signing_keys set kid = kid where false`);
      }),
    close: () => database.close(),
  };
}
