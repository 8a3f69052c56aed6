/** postgres-js (the `postgres` package) through drizzle-orm/postgres-js; measured in bench-driver.ts. */
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { databaseOf, type PgDb, type PgDriver } from "../driver";
import * as schema from "../schema";

export const postgresJsDriver: PgDriver = {
  name: "postgres-js",
  connect(url, options) {
    const client = postgres(url, {
      database: databaseOf(url),
      max: options.max,
      connection: options.params,
      connect_timeout: options.connectTimeoutSeconds,
      idle_timeout: 60,
      // By default it prints every NOTICE (the migrator's "schema already exists") to stdout.
      onnotice: () => {},
    });
    const db = drizzle({ client, schema });
    return {
      db: db as unknown as PgDb,
      migrate: (folder) => migrate(db, { migrationsFolder: folder }),
      close: () => client.end({ timeout: 5 }),
    };
  },
};
