/** The store contract, unchanged, on the Redis cache over PostgreSQL (a database of this run) with Redis database 14. */
import { setDefaultTimeout } from "bun:test";
import type { SQL } from "bun";
import { withRedisCache } from "../../db/hybrid/store";
import { openPostgresStore } from "../../db/postgres/store";
import { storeContract } from "../store/contract";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { flushHybridRedis, HYBRID_REDIS_URL } from "./support";

const TABLES = ["sessions", "dpop_proofs", "signing_keys", "service_clients", "deleted_users", "outbox", "leases"];

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
    const sql = await openPostgresStore({ url: database.url });
    await admin.unsafe(`truncate ${TABLES.join(", ")} restart identity`);
    return withRedisCache(sql, { redisUrl: HYBRID_REDIS_URL, commandTimeoutMs: 2000 });
  },
  async teardown() {
    await flushHybridRedis();
    await admin?.close();
    await database?.drop();
  },
});
