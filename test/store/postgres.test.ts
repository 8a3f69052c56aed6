/**
 * The store contract on PostgreSQL, on a database created for this run and dropped after it.
 * PostgreSQL-only behaviour (lock timeouts, lost connections, concurrent migrations, read-only
 * opening, URL selection, the schema) is in postgres-faults.test.ts; rows edited behind the
 * service's back are in postgres-integrity.test.ts.
 */
import { setDefaultTimeout } from "bun:test";
import type { SQL } from "bun";
import { openPostgresStore } from "../../db/postgres/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { storeContract } from "./contract";

const TABLES = ["sessions", "dpop_proofs", "signing_keys", "service_clients", "deleted_users", "outbox", "leases"];

// Bun 1.4 ignores bunfig's [test] timeout and allows 5 s; creating the database may take longer.
setDefaultTimeout(30_000);

let database: TestDatabase;
let admin: SQL;

storeContract("postgres", {
  async setup() {
    database = await createTestDatabase();
    admin = database.connect();
  },
  async open() {
    const store = await openPostgresStore({ url: database.url });
    // Migrated by open(); emptied here so each test starts from nothing.
    await admin.unsafe(`truncate ${TABLES.join(", ")} restart identity`);
    return store;
  },
  async teardown() {
    await admin?.close();
    await database?.drop();
  },
});
