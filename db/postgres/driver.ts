/**
 * The seam between the PostgreSQL store and a client library. The store speaks Drizzle's pg-core
 * only; a driver turns a URL into a pooled Drizzle database and runs drizzle's migrator for its
 * own client. Two exist so bench-driver.ts can measure them against each other (see the README, PostgreSQL).
 */
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema";

export type PgDb = PgDatabase<PgQueryResultHKT, typeof schema>;
export type PgTx = Parameters<Parameters<PgDb["transaction"]>[0]>[0];

export interface PgConnectOptions {
  /** Pool size. */
  max: number;
  /** Run-time parameters sent when each connection opens (lock_timeout, statement_timeout …). */
  params: Record<string, string | number>;
  connectTimeoutSeconds: number;
}

export interface PgClient {
  db: PgDb;
  /** Applies drizzle-kit migrations from `folder` with the driver's own drizzle migrator. */
  migrate(folder: string): Promise<void>;
  close(): Promise<void>;
}

export interface PgDriver {
  name: string;
  connect(url: string, options: PgConnectOptions): PgClient;
}

/**
 * The database named in the URL. Passed explicitly because some clients let PGDATABASE override
 * the URL's database, and tests point each run at a fresh database of their own.
 */
export function databaseOf(url: string): string | undefined {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  return name === "" ? undefined : name;
}
