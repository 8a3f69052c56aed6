/**
 * The one place that maps a DATABASE_URL to its store (and REDIS_URL to the hybrid cache), for
 * the server and sessionctl alike. Each adapter is loaded only when its scheme is used, so the
 * embedded SQLite default never loads a network driver.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SessionStore } from "../server/core/ports";

export type StoreKind = "sqlite" | "postgres" | "redis";

const SCHEMES: Array<[RegExp, StoreKind]> = [
  [/^sqlite:/, "sqlite"],
  [/^postgres(ql)?:\/\//, "postgres"],
  [/^rediss?:\/\//, "redis"],
];

/** The store a DATABASE_URL names, or null when no adapter takes it. */
export function storeKind(databaseUrl: string): StoreKind | null {
  return SCHEMES.find(([scheme]) => scheme.test(databaseUrl))?.[1] ?? null;
}

export const STORE_URL_FORMS = "sqlite:PATH, postgres://…, postgresql://…, redis:// or rediss://";

/** The file of a sqlite: URL. */
export const sqlitePath = (databaseUrl: string) => databaseUrl.slice("sqlite:".length);

export interface StoreSettings {
  databaseUrl: string;
  /** Hybrid mode: a Redis read cache in front of a SQL store (db/hybrid). */
  redisUrl?: string | null;
  redisCacheTtlMs?: number;
  sqliteSynchronous: "FULL" | "NORMAL";
  sqliteBusyTimeoutMs: number;
  /** PostgreSQL: the most connections the store's pool opens (default 10). */
  databasePoolSize?: number;
}

export interface OpenStoreOptions {
  /** Read-only sessionctl commands: open what exists, migrate nothing, create nothing. */
  readOnly?: boolean;
  /** SQLite: most WAL checkpointing in a worker thread (the server does; a short CLI run has no need). */
  backgroundCheckpoints?: boolean;
}

export async function openStore(settings: StoreSettings, options: OpenStoreOptions = {}): Promise<SessionStore> {
  const store = await openRecord(settings, options);
  if (!settings.redisUrl) return store;
  const { withRedisCache } = await import("./hybrid/store");
  return withRedisCache(store, { redisUrl: settings.redisUrl, cacheTtlMs: settings.redisCacheTtlMs });
}

async function openRecord(settings: StoreSettings, options: OpenStoreOptions): Promise<SessionStore> {
  const url = settings.databaseUrl;
  switch (storeKind(url)) {
    case "sqlite": {
      const path = sqlitePath(url);
      if (path !== ":memory:" && !options.readOnly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const { openSqliteStore } = await import("./sqlite/store");
      return openSqliteStore({
        path,
        synchronous: settings.sqliteSynchronous,
        busyTimeoutMs: settings.sqliteBusyTimeoutMs,
        readOnly: options.readOnly,
        backgroundCheckpoints: options.backgroundCheckpoints,
      });
    }
    case "postgres": {
      const { openPostgresStore } = await import("./postgres/store");
      return openPostgresStore({ url, readOnly: options.readOnly, poolSize: settings.databasePoolSize });
    }
    case "redis": {
      const { openRedisStore } = await import("./redis/store");
      return openRedisStore({ url, readOnly: options.readOnly });
    }
    default:
      throw new Error(`DATABASE_URL must be ${STORE_URL_FORMS}`);
  }
}
