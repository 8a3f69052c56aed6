/**
 * The store contract on PostgreSQL, on a database created for this run and dropped after it.
 * PostgreSQL-only behaviour (lock timeouts, lost connections, concurrent migrations, URL
 * selection) is in postgres-faults.test.ts: SQLite has no equivalent of those.
 */
import { setDefaultTimeout } from "bun:test";
import type { SQL } from "bun";
import { PostgresStore } from "../../db/postgres/store";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { storeContract } from "./contract";

const TABLES = [
  "sessions",
  "retired_refresh_tokens",
  "signing_keys",
  "service_clients",
  "deleted_users",
  "outbox",
  "leases",
];

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
    const store = await PostgresStore.open({ url: database.url });
    // Migrated by open(); emptied here so each test starts from nothing.
    await admin.unsafe(`truncate ${TABLES.join(", ")} restart identity`);
    return store;
  },
  async teardown() {
    await admin?.close();
    await database?.drop();
  },
});
