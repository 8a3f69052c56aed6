/** loadConfig is pure, reads only the map it is given and reports every problem at once. */
import { expect, test } from "bun:test";
import { decodeSecretKey, loadConfig } from "../../server/config";
import { parseDuration } from "../../server/core/duration";

const ok = (env: Record<string, string>) => {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.config;
};
const errors = (env: Record<string, string>) => {
  const result = loadConfig(env);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
};

test("defaults of CONTRACT §7", () => {
  const config = ok({});
  expect(config).toMatchObject({
    port: 3000,
    host: "0.0.0.0",
    databaseUrl: "sqlite:./data/sessions.db",
    natsUrl: null,
    secretKey: null,
    accessTokenTtlMs: 15 * 60_000,
    sessionIdleTimeoutMs: 14 * 86_400_000,
    sessionMaxLifetimeMs: 30 * 86_400_000,
    refreshReuseGraceMs: 10_000,
    maxSessionsPerUser: 100,
    jwtIssuer: "session-service",
    jwtAudience: "api",
    jwtAlg: "EdDSA",
    sqliteSynchronous: "FULL",
    rateLimit: null,
    dataDir: "./data",
  });
  expect(config.serviceKeys.size).toBe(0);
  expect(config.sqliteBusyTimeoutMs).toBe(5000);
});

test("every bad setting is reported at once", () => {
  const list = errors({
    PORT: "http",
    DATABASE_URL: "mysql://x",
    SECRET_KEY: "short",
    SERVICE_KEYS: "nocolon",
    ACCESS_TOKEN_TTL: "15",
    SESSION_IDLE_TIMEOUT: "-1d",
    SESSION_MAX_LIFETIME: "500ms",
    REFRESH_REUSE_GRACE: "ten seconds",
    MAX_SESSIONS_PER_USER: "-1",
    JWT_ALG: "HS256",
    SQLITE_SYNCHRONOUS: "OFF",
    LOG_LEVEL: "loud",
    RATE_LIMIT: "lots",
  });
  const names = [
    "PORT",
    "DATABASE_URL",
    "SECRET_KEY",
    "SERVICE_KEYS",
    "ACCESS_TOKEN_TTL",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_MAX_LIFETIME",
    "REFRESH_REUSE_GRACE",
    "MAX_SESSIONS_PER_USER",
    "JWT_ALG",
    "SQLITE_SYNCHRONOUS",
    "LOG_LEVEL",
    "RATE_LIMIT",
  ];
  for (const name of names) expect(list.some((line) => line.startsWith(name))).toBe(true);
  expect(list.length).toBe(names.length);
  // Messages name the setting, never repeat its (possibly secret) value.
  expect(list.join("\n")).not.toContain("short");
});

test("ACCESS_TOKEN_TTL above 1 h is refused; exactly 1 h is fine", () => {
  expect(errors({ ACCESS_TOKEN_TTL: "61m" })).toEqual(["ACCESS_TOKEN_TTL must not exceed 1h"]);
  expect(errors({ ACCESS_TOKEN_TTL: "3600001ms" }).length).toBe(1);
  expect(ok({ ACCESS_TOKEN_TTL: "1h" }).accessTokenTtlMs).toBe(3_600_000);
});

test("durations: ms s m h d suffixes, 1 s or more", () => {
  expect(ok({ REFRESH_REUSE_GRACE: "1s" }).refreshReuseGraceMs).toBe(1000);
  expect(ok({ REFRESH_REUSE_GRACE: "1000ms" }).refreshReuseGraceMs).toBe(1000);
  expect(ok({ SESSION_IDLE_TIMEOUT: "2h" }).sessionIdleTimeoutMs).toBe(7_200_000);
  expect(ok({ SESSION_MAX_LIFETIME: "90d" }).sessionMaxLifetimeMs).toBe(90 * 86_400_000);
  expect(ok({ ACCESS_TOKEN_TTL: "5m" }).accessTokenTtlMs).toBe(300_000);
  for (const bad of ["999ms", "0s", "1", "1.5m", "1w", "m", " ", "1 h", "-5s", "1e3s"]) {
    expect(errors({ REFRESH_REUSE_GRACE: bad }).length).toBe(1);
  }
  expect(parseDuration("15m")).toBe(900_000);
  expect(parseDuration("99999999999999999999d")).toBeNull();
  expect(parseDuration("abc")).toBeNull();
});

test("MAX_SESSIONS_PER_USER accepts 0 (no limit) and whole numbers only", () => {
  expect(ok({ MAX_SESSIONS_PER_USER: "0" }).maxSessionsPerUser).toBe(0);
  expect(ok({ MAX_SESSIONS_PER_USER: "7" }).maxSessionsPerUser).toBe(7);
  for (const bad of ["1.5", "abc", "-3", "1e3"]) expect(errors({ MAX_SESSIONS_PER_USER: bad }).length).toBe(1);
});

test("SERVICE_KEYS parse name:secret pairs; secrets may contain colons", () => {
  const config = ok({ SERVICE_KEYS: "auth:0123456789abcdef, gateway:abc:def:0123456789abcdef" });
  expect([...config.serviceKeys]).toEqual([
    ["auth", "0123456789abcdef"],
    ["gateway", "abc:def:0123456789abcdef"],
  ]);
  expect(errors({ SERVICE_KEYS: "auth:short" }).length).toBe(1);
  expect(errors({ SERVICE_KEYS: ":0123456789abcdef" }).length).toBe(1);
});

test("SECRET_KEY: 32+ bytes as hex or base64url", () => {
  expect(decodeSecretKey("ab".repeat(32))!.length).toBe(32);
  expect(decodeSecretKey(Buffer.alloc(32, 7).toString("base64url"))!.length).toBe(32);
  expect(decodeSecretKey("ab".repeat(20))).toBeNull(); // 40 hex digits = 20 bytes (30 as base64url)
  expect(decodeSecretKey(Buffer.alloc(31, 7).toString("base64url"))).toBeNull();
  expect(decodeSecretKey("not a key at all, even if it is long enough!!")).toBeNull();
});

test("JWT_ALG: EdDSA, ES256, RS256; no HMAC", () => {
  for (const alg of ["EdDSA", "ES256", "RS256"]) expect(ok({ JWT_ALG: alg }).jwtAlg).toBe(alg as never);
  for (const alg of ["HS256", "none", "eddsa"]) expect(errors({ JWT_ALG: alg }).length).toBe(1);
});

test("RATE_LIMIT: off or COUNT/DURATION; SQLITE_SYNCHRONOUS NORMAL", () => {
  expect(ok({ RATE_LIMIT: "20/1m" }).rateLimit).toEqual({ max: 20, windowMs: 60_000 });
  expect(ok({ RATE_LIMIT: "off" }).rateLimit).toBeNull();
  for (const bad of ["20", "0/1m", "20/1", "x/1m"]) expect(errors({ RATE_LIMIT: bad }).length).toBe(1);
  expect(ok({ SQLITE_SYNCHRONOUS: "NORMAL" }).sqliteSynchronous).toBe("NORMAL");
});

test("DATABASE_POOL_SIZE: 10 unless set, a whole number from 1 to 1000", () => {
  expect(ok({}).databasePoolSize).toBe(10);
  expect(ok({ DATABASE_POOL_SIZE: "3" }).databasePoolSize).toBe(3);
  for (const bad of ["0", "1001", "-2", "2.5", "many"]) {
    expect(errors({ DATABASE_POOL_SIZE: bad })).toEqual(["DATABASE_POOL_SIZE must be a whole number from 1 to 1000"]);
  }
});

test("the data dir is the folder of the SQLite file", () => {
  expect(ok({ DATABASE_URL: "sqlite:/var/lib/s/sessions.db" }).dataDir).toBe("/var/lib/s");
  expect(ok({ DATABASE_URL: "sqlite:sessions.db" }).dataDir).toBe(".");
});

test("SECRET_KEY of one repeated byte (all zeros, 'aaaa…') is refused, in hex and base64url", () => {
  for (const weak of ["0".repeat(64), "a".repeat(64), "ff".repeat(40), Buffer.alloc(32, 7).toString("base64url")]) {
    expect(errors({ SECRET_KEY: weak })).toEqual(["SECRET_KEY must be random bytes, not one byte repeated"]);
  }
  // One differing byte is enough to be accepted (randomness cannot be proven; placeholders can be refused).
  expect(ok({ SECRET_KEY: `${"0".repeat(62)}01` }).secretKey).toBe(`${"0".repeat(62)}01`);
});

test("REFRESH_REUSE_GRACE is at most 5m (CONTRACT §7)", () => {
  expect(ok({ REFRESH_REUSE_GRACE: "5m" }).refreshReuseGraceMs).toBe(300_000);
  for (const long of ["300001ms", "6m", "30d"]) {
    expect(errors({ REFRESH_REUSE_GRACE: long })).toEqual(["REFRESH_REUSE_GRACE must not exceed 5m"]);
  }
});

test("a SERVICE_KEYS secret with whitespace or a control character is refused, without echoing it", () => {
  for (const bad of [
    "auth:0123456789 abcdef",
    "auth:0123456789\tabcdef",
    "a:0123456789abcdef,b:01234567\u000189abcdef",
  ]) {
    const list = errors({ SERVICE_KEYS: bad });
    expect(list).toEqual(["SERVICE_KEYS secrets must not contain whitespace or control characters"]);
    expect(list.join()).not.toContain("0123456789");
  }
  // Spaces around an entry are still trimmed away, as before.
  expect([...ok({ SERVICE_KEYS: " auth:0123456789abcdef " }).serviceKeys]).toEqual([["auth", "0123456789abcdef"]]);
});

test("RATE_LIMIT: the window is capped at 1h, the count at 1,000,000", () => {
  expect(ok({ RATE_LIMIT: "5/1h" }).rateLimit).toEqual({ max: 5, windowMs: 3_600_000 });
  for (const bad of ["20/61m", "20/30d", "1000001/1m"]) expect(errors({ RATE_LIMIT: bad }).length).toBe(1);
});

test("KEY_ROTATION_INTERVAL must be at least ACCESS_TOKEN_TTL + JWKS_MAX_AGE (2s is refused)", () => {
  expect(errors({ KEY_ROTATION_INTERVAL: "2s" }).length).toBe(1);
  expect(errors({ KEY_ROTATION_INTERVAL: "19m" })).toEqual([
    "KEY_ROTATION_INTERVAL must be at least ACCESS_TOKEN_TTL + JWKS_MAX_AGE",
  ]);
  expect(ok({ KEY_ROTATION_INTERVAL: "20m" }).keyRotationIntervalMs).toBe(1_200_000);
  expect(ok({ KEY_ROTATION_INTERVAL: "8s", JWKS_MAX_AGE: "1s", ACCESS_TOKEN_TTL: "3s" }).keyRotationIntervalMs).toBe(
    8000,
  );
});

test("TRUSTED_PROXIES: off by default, addresses and CIDR ranges of both families", () => {
  expect(ok({}).trustedProxies).toEqual([]);
  expect(ok({ TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.7,2001:db8::/32" }).trustedProxies).toEqual([
    { address: "10.0.0.0", prefix: 8, family: "ipv4" },
    { address: "192.0.2.7", prefix: 32, family: "ipv4" },
    { address: "2001:db8::", prefix: 32, family: "ipv6" },
  ]);
  for (const bad of [
    "10.0.0.0/33",
    "::/129",
    "10.0.0/8",
    "proxy.internal",
    "10.0.0.0/8/1",
    "fe80::1%eth0",
    "1.2.3.4/-1",
  ]) {
    expect(errors({ TRUSTED_PROXIES: bad }).length).toBe(1);
  }
});

test("STORE_STATS_INTERVAL: the background store statistics run every 15s by default", () => {
  expect(ok({}).timers.storeStatsMs).toBe(15_000);
  expect(ok({ STORE_STATS_INTERVAL: "50ms" }).timers.storeStatsMs).toBe(50);
});

test("USER_DELETED_SOURCES: off by default, else a comma-separated list of CloudEvents sources", () => {
  const parse = (value?: string) => {
    const loaded = loadConfig({ USER_DELETED_SOURCES: value });
    return loaded.ok ? loaded.config.userDeletedSources : loaded.errors;
  };
  expect(parse()).toBeNull();
  expect(parse("")).toBeNull();
  expect(parse("identity-service")).toEqual(["identity-service"]);
  expect(parse(" identity-service , https://id.example.com/users ")).toEqual([
    "identity-service",
    "https://id.example.com/users",
  ]);
  for (const bad of ["identity-service,", "a,,b", "two words", "tab\there"]) {
    expect(parse(bad)).toEqual([
      "USER_DELETED_SOURCES must be CloudEvents sources separated by commas, e.g. identity-service",
    ]);
  }
});
