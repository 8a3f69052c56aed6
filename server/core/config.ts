import { parseDuration } from "./duration";

export type SigningAlg = "EdDSA" | "ES256" | "RS256";
export const SIGNING_ALGS: readonly SigningAlg[] = ["EdDSA", "ES256", "RS256"];

export interface RateLimit {
  max: number;
  windowMs: number;
}

/** Every setting of CONTRACT §7, parsed. Only the two main.ts files read the environment. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** REDIS_URL: a read cache in front of the SQL store (hybrid mode, db/hybrid), or null. */
  redisUrl: string | null;
  /** REDIS_CACHE_TTL (default 2s): how long a cache entry may serve a copy of SQL state. */
  redisCacheTtlMs: number;
  natsUrl: string | null;
  /** Where `user.deleted` is consumed from (USER_EVENTS_STREAM / USER_DELETED_SUBJECT). */
  userEventsStream: string;
  userDeletedSubject: string;
  /** USER_DELETED_SOURCES: the CloudEvents sources a user.deleted is believed from; null = any payload. */
  userDeletedSources: string[] | null;
  /** Raw SECRET_KEY text, or null: then it is generated into the data directory. */
  secretKey: string | null;
  /** name → secret from SERVICE_KEYS. */
  serviceKeys: Map<string, string>;
  accessTokenTtlMs: number;
  sessionIdleTimeoutMs: number;
  sessionMaxLifetimeMs: number;
  refreshReuseGraceMs: number;
  maxSessionsPerUser: number;
  jwtIssuer: string;
  jwtAudience: string;
  jwtAlg: SigningAlg;
  /** How often a new signing key takes over (KEY_ROTATION_INTERVAL, default 30d). */
  keyRotationIntervalMs: number;
  /** JWKS cache time (JWKS_MAX_AGE, default 5m): Cache-Control max-age, and how early a key is published. */
  jwksMaxAgeMs: number;
  sqliteSynchronous: "FULL" | "NORMAL";
  sqliteBusyTimeoutMs: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  rateLimit: RateLimit | null;
  /** Where the generated secret and service key go when not set: the folder of the SQLite file, or ./data. */
  dataDir: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

const MAX_ACCESS_TOKEN_TTL_MS = 3_600_000;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Pure: reads only the given map and reports every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): ConfigResult {
  const errors: string[] = [];
  const get = (name: string, fallback: string) => {
    const value = env[name];
    return value === undefined || value === "" ? fallback : value;
  };

  const duration = (name: string, fallback: string): number => {
    const text = get(name, fallback);
    const ms = parseDuration(text);
    if (ms === null || ms < 1000) {
      errors.push(`${name} must be a duration of 1s or more with an ms/s/m/h/d suffix (e.g. ${fallback})`);
      return parseDuration(fallback)!;
    }
    return ms;
  };

  const integer = (name: string, fallback: string, min: number, max: number): number => {
    const text = get(name, fallback);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      errors.push(`${name} must be a whole number from ${min} to ${max}`);
      return Number(fallback);
    }
    return Number(text);
  };

  const port = integer("PORT", "3000", 0, 65535);
  const host = get("HOST", "0.0.0.0");
  const databaseUrl = get("DATABASE_URL", "sqlite:./data/sessions.db");
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/|redis:\/\/|rediss:\/\/)/.test(databaseUrl)) {
    errors.push("DATABASE_URL must start with sqlite:, postgres://, redis:// or rediss://");
  }

  const redisUrl = env.REDIS_URL ? env.REDIS_URL : null;
  if (redisUrl !== null) {
    if (!/^rediss?:\/\//.test(redisUrl)) errors.push("REDIS_URL must start with redis:// or rediss://");
    else if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
      errors.push("REDIS_URL (hybrid mode) needs a SQL DATABASE_URL (sqlite: or postgres://)");
    }
  }
  const redisCacheTtlText = get("REDIS_CACHE_TTL", "2s");
  let redisCacheTtlMs = parseDuration(redisCacheTtlText) ?? -1;
  if (redisCacheTtlMs < 100 || redisCacheTtlMs > 60_000) {
    errors.push("REDIS_CACHE_TTL must be a duration from 100ms to 1m (e.g. 2s)");
    redisCacheTtlMs = 2000;
  }

  const natsUrl = env.NATS_URL ? env.NATS_URL : null;
  const userEventsStream = get("USER_EVENTS_STREAM", "USERS");
  if (!/^[A-Za-z0-9_-]+$/.test(userEventsStream)) errors.push("USER_EVENTS_STREAM must be a JetStream stream name");
  const userDeletedSubject = get("USER_DELETED_SUBJECT", "user.deleted");
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(userDeletedSubject)) {
    errors.push("USER_DELETED_SUBJECT must be a dotted NATS subject without wildcards, e.g. user.deleted");
  }

  let userDeletedSources: string[] | null = null;
  if (env.USER_DELETED_SOURCES) {
    userDeletedSources = env.USER_DELETED_SOURCES.split(",").map((entry) => entry.trim());
    if (userDeletedSources.some((source) => source === "" || /[\s\p{Cc}]/u.test(source))) {
      errors.push("USER_DELETED_SOURCES must be CloudEvents sources separated by commas, e.g. identity-service");
    }
  }

  const secretKey = env.SECRET_KEY ? env.SECRET_KEY : null;
  if (secretKey !== null && decodeSecretKey(secretKey) === null) {
    errors.push("SECRET_KEY must be at least 32 bytes written as hex or base64url");
  }

  const serviceKeys = new Map<string, string>();
  if (env.SERVICE_KEYS) {
    for (const entry of env.SERVICE_KEYS.split(",")) {
      const at = entry.indexOf(":");
      const name = entry.slice(0, at).trim();
      const secret = entry.slice(at + 1).trim();
      if (at <= 0 || !name || secret.length < 16) {
        errors.push("SERVICE_KEYS must be name:secret pairs separated by commas, each secret at least 16 characters");
        break;
      }
      serviceKeys.set(name, secret);
    }
  }

  const accessTokenTtlMs = duration("ACCESS_TOKEN_TTL", "15m");
  if (accessTokenTtlMs > MAX_ACCESS_TOKEN_TTL_MS) errors.push("ACCESS_TOKEN_TTL must not exceed 1h");
  const sessionIdleTimeoutMs = duration("SESSION_IDLE_TIMEOUT", "14d");
  const sessionMaxLifetimeMs = duration("SESSION_MAX_LIFETIME", "30d");
  const refreshReuseGraceMs = duration("REFRESH_REUSE_GRACE", "10s");
  const maxSessionsPerUser = integer("MAX_SESSIONS_PER_USER", "100", 0, 1_000_000);

  const jwtIssuer = get("JWT_ISSUER", "session-service");
  const jwtAudience = get("JWT_AUDIENCE", "api");
  const jwtAlg = get("JWT_ALG", "EdDSA") as SigningAlg;
  if (!SIGNING_ALGS.includes(jwtAlg)) errors.push(`JWT_ALG must be one of ${SIGNING_ALGS.join(", ")}`);

  const keyRotationIntervalMs = duration("KEY_ROTATION_INTERVAL", "30d");
  const jwksMaxAgeMs = duration("JWKS_MAX_AGE", "5m");
  if (jwksMaxAgeMs * 2 > keyRotationIntervalMs)
    errors.push("KEY_ROTATION_INTERVAL must be at least twice JWKS_MAX_AGE");

  const sqliteSynchronous = get("SQLITE_SYNCHRONOUS", "FULL").toUpperCase() as Config["sqliteSynchronous"];
  if (sqliteSynchronous !== "FULL" && sqliteSynchronous !== "NORMAL") {
    errors.push("SQLITE_SYNCHRONOUS must be FULL or NORMAL");
  }
  const sqliteBusyTimeoutMs = duration("SQLITE_BUSY_TIMEOUT", "5s");
  if (sqliteBusyTimeoutMs < 5000) errors.push("SQLITE_BUSY_TIMEOUT must be at least 5s");

  const logLevel = get("LOG_LEVEL", "info") as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);

  let rateLimit: RateLimit | null = null;
  const rateText = get("RATE_LIMIT", "off");
  if (rateText !== "off") {
    const [count, window] = rateText.split("/");
    const windowMs = window ? parseDuration(window) : null;
    if (!count || !/^\d+$/.test(count) || Number(count) < 1 || windowMs === null || windowMs < 1000) {
      errors.push("RATE_LIMIT must be off or COUNT/DURATION, e.g. 20/1m");
    } else {
      rateLimit = { max: Number(count), windowMs };
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      port,
      host,
      databaseUrl,
      redisUrl,
      redisCacheTtlMs,
      natsUrl,
      userEventsStream,
      userDeletedSubject,
      userDeletedSources,
      secretKey,
      serviceKeys,
      accessTokenTtlMs,
      sessionIdleTimeoutMs,
      sessionMaxLifetimeMs,
      refreshReuseGraceMs,
      maxSessionsPerUser,
      jwtIssuer,
      jwtAudience,
      jwtAlg,
      keyRotationIntervalMs,
      jwksMaxAgeMs,
      sqliteSynchronous,
      sqliteBusyTimeoutMs,
      logLevel,
      rateLimit,
      dataDir: dataDirOf(databaseUrl),
    },
  };
}

/** The generated secret and service key live beside the SQLite file (./data by default). */
function dataDirOf(databaseUrl: string): string {
  if (!databaseUrl.startsWith("sqlite:")) return "./data";
  const path = databaseUrl.slice("sqlite:".length);
  if (path === ":memory:") return "./data";
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/** SECRET_KEY as bytes: hex (64+ digits) or base64url (43+ characters) of ≥ 32 bytes; null otherwise. */
export function decodeSecretKey(text: string): Uint8Array | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 && trimmed.length >= 64) {
    return Uint8Array.from(Buffer.from(trimmed, "hex"));
  }
  if (/^[A-Za-z0-9_-]+={0,2}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, "base64url");
    if (bytes.length >= 32) return Uint8Array.from(bytes);
  }
  return null;
}
