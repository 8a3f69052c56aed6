/**
 * The one place that builds the core, for the server and for sessionctl alike, so a revoke from
 * the CLI writes exactly the event a logout does.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { HybridStore } from "../db/hybrid/store";
import { PostgresStore } from "../db/postgres/store";
import { isRedisUrl } from "../db/redis/options";
import { RedisStore } from "../db/redis/store";
import { SqliteStore } from "../db/sqlite/store";
import { AccessTokens } from "./core/access-tokens";
import type { Config } from "./core/config";
import { type Clock, type SessionObserver, type SessionStore, systemClock } from "./core/ports";
import { type DerivedSecrets, deriveSecrets } from "./core/secrets";
import { ServiceKeys } from "./core/service-keys";
import { SessionService } from "./core/sessions";
import { KeyRing } from "./core/signing-keys";
import { GENERATED_CLIENT, loadGeneratedServiceKey, loadSecretKey } from "./data-files";

export interface Core {
  config: Config;
  store: SessionStore;
  secrets: DerivedSecrets;
  keys: KeyRing;
  sessions: SessionService;
  serviceKeys: ServiceKeys;
  clock: Clock;
  close(): Promise<void>;
}

export interface OpenOptions {
  clock?: Clock;
  /** The server generates ./data/service.key when no service key exists; the CLI does not. */
  generateServiceKey?: boolean;
  /** Lifecycle logs and metrics (the server's); the CLI reports nothing. */
  observer?: SessionObserver;
  /** SQLite: most WAL checkpointing in a worker thread (the server does; a short CLI run has no need). */
  backgroundCheckpoints?: boolean;
}

/** Async because the PostgreSQL store migrates over the network before it takes requests. */
export async function openStore(
  config: Config,
  options: Pick<OpenOptions, "backgroundCheckpoints"> = {},
): Promise<SessionStore> {
  const sql = await openBaseStore(config, options);
  // Hybrid mode: SQL stays the record, Redis caches the two hot reads (db/hybrid/store.ts).
  return config.redisUrl
    ? new HybridStore(sql, { redisUrl: config.redisUrl, cacheTtlMs: config.redisCacheTtlMs })
    : sql;
}

async function openBaseStore(
  config: Config,
  options: Pick<OpenOptions, "backgroundCheckpoints">,
): Promise<SessionStore> {
  if (/^postgres(ql)?:\/\//.test(config.databaseUrl)) return PostgresStore.open({ url: config.databaseUrl });
  if (isRedisUrl(config.databaseUrl)) return RedisStore.open({ url: config.databaseUrl });
  if (config.databaseUrl.startsWith("sqlite:")) {
    const path = config.databaseUrl.slice("sqlite:".length);
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    return new SqliteStore({
      path,
      synchronous: config.sqliteSynchronous,
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
      backgroundCheckpoints: options.backgroundCheckpoints,
    });
  }
  throw new Error("DATABASE_URL must start with sqlite:, postgres://, postgresql://, redis:// or rediss://");
}

export async function openCore(config: Config, options: OpenOptions = {}): Promise<Core> {
  const clock = options.clock ?? systemClock;
  const secrets = deriveSecrets(loadSecretKey(config.secretKey, config.dataDir));
  const store = await openStore(config, options);
  try {
    const keys = new KeyRing(store, secrets.keyEncryptionKey, config.jwtAlg, config.accessTokenTtlMs, clock);
    await keys.open();
    const configured = new Map(config.serviceKeys);
    if (configured.size === 0) {
      const noClients = (await store.listServiceClients()).length === 0;
      const generated = loadGeneratedServiceKey(config.dataDir, Boolean(options.generateServiceKey) && noClients);
      if (generated) configured.set(GENERATED_CLIENT, generated);
    }
    const serviceKeys = new ServiceKeys(store, secrets.serviceKeyHashKey, configured);
    const tokens = new AccessTokens(keys, {
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlMs: config.accessTokenTtlMs,
    });
    const sessions = new SessionService({
      store,
      clock,
      tokens,
      secrets,
      settings: config,
      newId: () => Bun.randomUUIDv7(),
      observer: options.observer,
    });
    return {
      config,
      store,
      secrets,
      keys,
      sessions,
      serviceKeys,
      clock,
      close: async () => {
        keys.stopReloading();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
