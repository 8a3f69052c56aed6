/** The store contract, unchanged, on HybridStore over PostgreSQL (a database of this run) with Redis database 14. */
import { setDefaultTimeout } from "bun:test";
import type { SQL } from "bun";
import { HybridStore } from "../../db/hybrid/store";
import { PostgresStore } from "../../db/postgres/store";
import { storeContract } from "../store/contract";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { flushHybridRedis, HYBRID_REDIS_URL } from "./support";

const TABLES = [
  "sessions",
  "retired_refresh_tokens",
  "signing_keys",
  "service_clients",
  "deleted_users",
  "outbox",
  "leases",
];

setDefaultTimeout(30_000);

let database: TestDatabase;
let admin: SQL;

storeContract("hybrid (postgres + redis)", {
  async setup() {
    await flushHybridRedis();
    database = await createTestDatabase();
    admin = database.connect();
  },
  async open() {
    await flushHybridRedis();
    const sql = await PostgresStore.open({ url: database.url });
    await admin.unsafe(`truncate ${TABLES.join(", ")} restart identity`);
    return new HybridStore(sql, { redisUrl: HYBRID_REDIS_URL, commandTimeoutMs: 2000 });
  },
  async teardown() {
    await flushHybridRedis();
    await admin?.close();
    await database?.drop();
  },
});
