/**
 * Hybrid-mode test helpers: a logical database of 127.0.0.1:6379 of the test file's own
 * (test/support/redis.ts; TEST_HYBRID_REDIS_URL points elsewhere), flushed before and after; throw-away redis-servers come
 * from ../support/redis.
 */

import { join } from "node:path";
import { RedisClient } from "bun";
import { type HybridOptions, type HybridStore, withRedisCache } from "../../db/hybrid/store";
import { openSqliteStore } from "../../db/sqlite/store";
import { flushTestRedis, testRedisDb } from "../support/redis";

export const HYBRID_REDIS_URL = process.env.TEST_HYBRID_REDIS_URL ?? `redis://127.0.0.1:6379/${testRedisDb(14)}`;

export const flushHybridRedis = (url = HYBRID_REDIS_URL) => flushTestRedis(url);

export async function sqliteHybrid(dir: string, options: Partial<HybridOptions> = {}): Promise<HybridStore> {
  const sql = await openSqliteStore({ path: join(dir, "sessions.db"), synchronous: "FULL", busyTimeoutMs: 5000 });
  return withRedisCache(sql, { redisUrl: HYBRID_REDIS_URL, ...options });
}

/** Runs one command on a fresh client (the test's own view of Redis). */
export async function redisCommand(url: string, command: string, args: string[] = []): Promise<unknown> {
  const client = new RedisClient(url, { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: 2000 });
  try {
    await client.connect();
    return await client.send(command, args);
  } finally {
    client.close();
  }
}

export async function cacheKeys(url: string, pattern = "session-cache:*"): Promise<string[]> {
  return ((await redisCommand(url, "KEYS", [pattern])) as string[]).sort();
}
