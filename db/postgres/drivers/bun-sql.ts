/** Bun's built-in PostgreSQL client through drizzle-orm/bun-sql: no dependency, native protocol code. */
import { SQL } from "bun";
import { drizzle } from "drizzle-orm/bun-sql";
import { migrate } from "drizzle-orm/bun-sql/migrator";
import { databaseOf, type PgDb, type PgDriver } from "../driver";
import * as schema from "../schema";

export const bunSqlDriver: PgDriver = {
  name: "bun-sql",
  connect(url, options) {
    const client = new SQL({
      url,
      database: databaseOf(url),
      max: options.max,
      connection: options.params,
      connectionTimeout: options.connectTimeoutSeconds,
      // Idle connections are dropped so a restarted server or a failover is not met with stale sockets.
      idleTimeout: 60,
    });
    const db = drizzle({ client, schema });
    return {
      db: db as unknown as PgDb,
      migrate: (folder) => migrate(db, { migrationsFolder: folder }),
      // Give queries in flight a moment to finish (SIGTERM drains requests before closing the store).
      close: () => client.close({ timeout: 5 }),
    };
  },
};
