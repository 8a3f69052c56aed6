import { isIPv4, isIPv6 } from "node:net";
import { STORE_URL_FORMS, storeKind } from "../db/open-store";
import { parsePublicUrl } from "./core/dpop/htu";
import { parseDuration } from "./core/duration";
import { SIGNING_ALGS, type SigningAlg } from "./core/signing-keys";

export interface RateLimit {
  max: number;
  windowMs: number;
}

/** One range of TRUSTED_PROXIES: an address and its prefix length. */
export interface TrustedRange {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/**
 * How often the background jobs run and how long they wait: production values by default; tests
 * that run the real server shorten them instead of waiting seconds.
 */
export interface Timers {
  /** KEY_RELOAD_INTERVAL (5s): how often each instance re-reads the signing keys. */
  keyReloadMs: number;
  /** RELAY_POLL_INTERVAL (500ms): how often an idle relay looks for events written elsewhere. */
  relayPollMs: number;
  /** RELAY_LEASE_TTL (5s): how long the relay lease lasts; another instance takes over after it. */
  relayLeaseMs: number;
  /** USER_DELETED_RETRY_DELAY (2s): the nak delay of a user.deleted the store could not take. */
  userDeletedRetryMs: number;
  /** PURGE_INTERVAL (1h): how often ended sessions older than PURGE_AFTER are deleted. */
  purgeEveryMs: number;
  /** STORE_STATS_INTERVAL (15s): how often the store gauges of /metrics are computed, in the background. */
  storeStatsMs: number;
}

/** Every setting of CONTRACT §7, parsed. Only the two main.ts files read the environment. */
export interface Config {
  timers: Timers;
  /** PURGE_AFTER (30d, or off): ended sessions are deleted this long after they ended. */
  purgeAfterMs: number | null;
  /** Crash tests only (SESSION_SERVICE_FAULT=relay-crash-after-publish): die between publishing and marking. */
  fault: "relay-crash-after-publish" | null;
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
  /** DATABASE_POOL_SIZE (default 10): the most PostgreSQL connections the server's store holds. */
  databasePoolSize: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  rateLimit: RateLimit | null;
  /** PUBLIC_URL without a trailing slash (default http://localhost:PORT): the base of a DPoP proof's `htu` (§10). */
  publicUrl: string;
  /** DPOP_PROOF_MAX_AGE (default 60s): how old a proof's `iat` may be; also how long its `jti` is remembered. */
  dpopProofMaxAgeMs: number;
  /** DPOP_CLOCK_SKEW (default 5s): how far in the future a proof's `iat` may be. */
  dpopClockSkewMs: number;
  /** DPOP_NONCE=on: bound refreshes must carry a server nonce. */
  dpopNonce: boolean;
  /** TRUSTED_PROXIES: the proxies whose X-Forwarded-For names the client (empty: the socket address is the client). */
  trustedProxies: TrustedRange[];
  /** Where the generated secret and service key go when not set: the folder of the SQLite file, or ./data. */
  dataDir: string;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

const MAX_ACCESS_TOKEN_TTL_MS = 3_600_000;
/** CONTRACT §7: a longer grace window lets a stolen old refresh token replay for that long. */
const MAX_REFRESH_REUSE_GRACE_MS = 5 * 60_000;
/**
 * A RATE_LIMIT window is at most 1 h: the limiter keeps one counter per source for a window, so a
 * longer one holds its memory (and a user sharing an address with an attacker) for longer, for no
 * gain against guessing 256-bit secrets.
 */
const MAX_RATE_LIMIT_WINDOW_MS = 3_600_000;
const MAX_RATE_LIMIT_COUNT = 1_000_000;
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
  if (storeKind(databaseUrl) === null) errors.push(`DATABASE_URL must be ${STORE_URL_FORMS}`);

  const redisUrl = env.REDIS_URL ? env.REDIS_URL : null;
  if (redisUrl !== null) {
    if (!/^rediss?:\/\//.test(redisUrl)) errors.push("REDIS_URL must start with redis:// or rediss://");
    else if (storeKind(databaseUrl) === "redis") {
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
  const secretBytes = secretKey === null ? null : decodeSecretKey(secretKey);
  if (secretKey !== null && secretBytes === null) {
    errors.push("SECRET_KEY must be at least 32 bytes written as hex or base64url");
  } else if (secretBytes?.every((byte) => byte === secretBytes[0])) {
    // All zeros, "aaaa…": a placeholder, not a secret; every key derived from it would be public.
    errors.push("SECRET_KEY must be random bytes, not one byte repeated");
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
      // A secret with a space or a control character can never be sent: the Authorization header
      // carries one token (CONTRACT §7). Refusing it at start beats a client that always gets 401.
      if (/[\s\u0000-\u001f\u007f]/.test(secret)) {
        errors.push("SERVICE_KEYS secrets must not contain whitespace or control characters");
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
  if (refreshReuseGraceMs > MAX_REFRESH_REUSE_GRACE_MS) errors.push("REFRESH_REUSE_GRACE must not exceed 5m");
  const maxSessionsPerUser = integer("MAX_SESSIONS_PER_USER", "100", 0, 1_000_000);

  const jwtIssuer = get("JWT_ISSUER", "session-service");
  const jwtAudience = get("JWT_AUDIENCE", "api");
  const jwtAlg = get("JWT_ALG", "EdDSA") as SigningAlg;
  if (!SIGNING_ALGS.includes(jwtAlg)) errors.push(`JWT_ALG must be one of ${SIGNING_ALGS.join(", ")}`);

  const keyRotationIntervalMs = duration("KEY_ROTATION_INTERVAL", "30d");
  const jwksMaxAgeMs = duration("JWKS_MAX_AGE", "5m");
  if (jwksMaxAgeMs * 2 > keyRotationIntervalMs)
    errors.push("KEY_ROTATION_INTERVAL must be at least twice JWKS_MAX_AGE");
  // A key is published JWKS_MAX_AGE before it signs and stays published ACCESS_TOKEN_TTL after it
  // stopped. Rotating faster than their sum keeps ever more keys alive at once: the JWKS (which
  // every verifier fetches) and the key table grow with each rotation, and each verifier cache is
  // outdated before it expires. At this floor at most three keys are published at a time: the
  // signer, the next one and the last one.
  else if (keyRotationIntervalMs < accessTokenTtlMs + jwksMaxAgeMs)
    errors.push("KEY_ROTATION_INTERVAL must be at least ACCESS_TOKEN_TTL + JWKS_MAX_AGE");

  const sqliteSynchronous = get("SQLITE_SYNCHRONOUS", "FULL").toUpperCase() as Config["sqliteSynchronous"];
  if (sqliteSynchronous !== "FULL" && sqliteSynchronous !== "NORMAL") {
    errors.push("SQLITE_SYNCHRONOUS must be FULL or NORMAL");
  }
  const sqliteBusyTimeoutMs = duration("SQLITE_BUSY_TIMEOUT", "5s");
  if (sqliteBusyTimeoutMs < 5000) errors.push("SQLITE_BUSY_TIMEOUT must be at least 5s");
  const databasePoolSize = integer("DATABASE_POOL_SIZE", "10", 1, 1000);

  const logLevel = get("LOG_LEVEL", "info") as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);

  let rateLimit: RateLimit | null = null;
  const rateText = get("RATE_LIMIT", "off");
  if (rateText !== "off") {
    const [count, window] = rateText.split("/");
    const windowMs = window ? parseDuration(window) : null;
    if (
      !count ||
      !/^\d+$/.test(count) ||
      Number(count) < 1 ||
      Number(count) > MAX_RATE_LIMIT_COUNT ||
      windowMs === null ||
      windowMs < 1000 ||
      windowMs > MAX_RATE_LIMIT_WINDOW_MS
    ) {
      errors.push("RATE_LIMIT must be off or COUNT/DURATION with a window from 1s to 1h, e.g. 20/1m");
    } else {
      rateLimit = { max: Number(count), windowMs };
    }
  }

  const trustedProxies = parseTrustedProxies(get("TRUSTED_PROXIES", "off"));
  if (trustedProxies === null) {
    errors.push("TRUSTED_PROXIES must be off or a comma-separated list of IP addresses or CIDR ranges");
  }

  /** Timers: 10 ms to 1 h, so a test may shorten them and nobody can stop a job altogether. */
  const timer = (name: string, fallback: string): number => {
    const ms = parseDuration(get(name, fallback));
    if (ms === null || ms < 10 || ms > 3_600_000) {
      errors.push(`${name} must be a duration from 10ms to 1h (e.g. ${fallback})`);
      return parseDuration(fallback)!;
    }
    return ms;
  };
  const timers: Timers = {
    keyReloadMs: timer("KEY_RELOAD_INTERVAL", "5s"),
    relayPollMs: timer("RELAY_POLL_INTERVAL", "500ms"),
    relayLeaseMs: timer("RELAY_LEASE_TTL", "5s"),
    userDeletedRetryMs: timer("USER_DELETED_RETRY_DELAY", "2s"),
    purgeEveryMs: timer("PURGE_INTERVAL", "1h"),
    storeStatsMs: timer("STORE_STATS_INTERVAL", "15s"),
  };
  // Ended sessions stay visible to operators this long, then are deleted on schedule; off: only by sessionctl purge.
  const purgeText = get("PURGE_AFTER", "30d");
  const purgeAfterMs = purgeText === "off" ? null : duration("PURGE_AFTER", "30d");
  const faultText = get("SESSION_SERVICE_FAULT", "none");
  if (faultText !== "none" && faultText !== "relay-crash-after-publish") {
    errors.push("SESSION_SERVICE_FAULT must be none or relay-crash-after-publish (crash tests only)");
  }
  const fault = faultText === "relay-crash-after-publish" ? faultText : null;

  const publicUrl = parsePublicUrl(get("PUBLIC_URL", `http://localhost:${port}`));
  if (publicUrl === null) {
    errors.push("PUBLIC_URL must be an absolute http:// or https:// URL without query, fragment or credentials");
  }
  const dpopProofMaxAgeMs = duration("DPOP_PROOF_MAX_AGE", "60s");
  const dpopClockSkewMs = duration("DPOP_CLOCK_SKEW", "5s");
  const dpopNonceText = get("DPOP_NONCE", "off").toLowerCase();
  if (dpopNonceText !== "on" && dpopNonceText !== "off") errors.push("DPOP_NONCE must be on or off");

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      timers,
      purgeAfterMs,
      fault,
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
      databasePoolSize,
      logLevel,
      rateLimit,
      publicUrl: publicUrl!,
      dpopProofMaxAgeMs,
      dpopClockSkewMs,
      dpopNonce: dpopNonceText === "on",
      trustedProxies: trustedProxies ?? [],
      dataDir: dataDirOf(databaseUrl),
    },
  };
}

/** TRUSTED_PROXIES: "off", or addresses and CIDR ranges (`10.0.0.0/8, 2001:db8::/32, 192.0.2.7`); null when bad. */
export function parseTrustedProxies(text: string): TrustedRange[] | null {
  if (text.trim() === "off") return [];
  const ranges: TrustedRange[] = [];
  for (const entry of text.split(",")) {
    const [address = "", prefixText, extra] = entry.trim().split("/");
    const family = isIPv4(address) ? "ipv4" : isIPv6(address) && !address.includes("%") ? "ipv6" : null;
    if (!family || extra !== undefined) return null;
    const bits = family === "ipv4" ? 32 : 128;
    if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
    const prefix = prefixText === undefined ? bits : Number(prefixText);
    if (prefix > bits) return null;
    ranges.push({ address, prefix, family });
  }
  return ranges;
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
