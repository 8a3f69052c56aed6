/** REDIS_URL / REDIS_CACHE_TTL parsing, and that openStore wraps the SQL store when REDIS_URL is set. */
import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { CachedSessions } from "../../db/hybrid/cached-sessions";
import { openStore } from "../../db/open-store";
import { SqliteSessions } from "../../db/sqlite/sessions";
import { loadConfig } from "../../server/config";
import { tempDir } from "../support/core";
import { HYBRID_REDIS_URL } from "./support";

test("REDIS_URL is optional, needs a SQL DATABASE_URL; REDIS_CACHE_TTL defaults to 2s", () => {
  const plain = loadConfig({});
  expect(plain.ok && plain.config.redisUrl).toBeNull();
  expect(plain.ok && plain.config.redisCacheTtlMs).toBe(2000);
  const hybrid = loadConfig({
    DATABASE_URL: "sqlite:./x.db",
    REDIS_URL: "redis://127.0.0.1:6379/14",
    REDIS_CACHE_TTL: "500ms",
  });
  expect(hybrid.ok && hybrid.config.redisUrl).toBe("redis://127.0.0.1:6379/14");
  expect(hybrid.ok && hybrid.config.redisCacheTtlMs).toBe(500);
  expect(loadConfig({ DATABASE_URL: "redis://127.0.0.1:6379/1", REDIS_URL: "redis://127.0.0.1:6379/14" }).ok).toBe(
    false,
  );
  expect(loadConfig({ REDIS_URL: "http://127.0.0.1:6379" }).ok).toBe(false);
  expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", REDIS_CACHE_TTL: "10ms" }).ok).toBe(false);
});

test("openStore puts the cache in front of the SQL store's sessions only when REDIS_URL is set", async () => {
  const dir = tempDir("session-hybrid-config-");
  try {
    const url = `sqlite:${join(dir, "s.db")}`;
    const base = loadConfig({ DATABASE_URL: url });
    const hybrid = loadConfig({ DATABASE_URL: url, REDIS_URL: HYBRID_REDIS_URL });
    if (!base.ok || !hybrid.ok) throw new Error("config");
    const a = await openStore(base.config);
    const b = await openStore(hybrid.config);
    expect(a.sessions).toBeInstanceOf(SqliteSessions);
    expect(b.sessions).toBeInstanceOf(CachedSessions);
    // Only the sessions slice is wrapped: the other slices are the SQL store's own.
    expect(b.outbox.constructor).toBe(a.outbox.constructor);
    expect(b.admin.constructor).toBe(a.admin.constructor);
    await a.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
