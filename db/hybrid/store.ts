/**
 * Hybrid mode: DATABASE_URL is a SQL store (SQLite or PostgreSQL), the record; REDIS_URL is a read
 * cache in front of its `sessions` slice only (cached-sessions.ts: what is cached, THE RULE and why
 * it holds). Every other slice is the SQL store's, unchanged; readiness is the record's.
 */
import type { SessionStore } from "../../server/core/ports";
import { RedisConnection } from "../redis/connection";
import { CachedSessions } from "./cached-sessions";

export interface HybridOptions {
  /** redis://… (query `prefix` = key prefix, default "session-cache:"). */
  redisUrl: string;
  /** T: how long an entry may serve a copy of SQL state. */
  cacheTtlMs?: number;
  /** Added to T when an invalidation failed. */
  marginMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How long reads skip Redis after it failed. */
  breakerMs?: number;
}

export interface HybridStore extends SessionStore {
  sessions: CachedSessions;
}

export const DEFAULT_CACHE_PREFIX = "session-cache:";

export function parseCacheUrl(text: string): { url: string; prefix: string } {
  const url = new URL(text);
  const prefix = url.searchParams.get("prefix") ?? DEFAULT_CACHE_PREFIX;
  url.searchParams.delete("prefix");
  return { url: url.toString(), prefix };
}

/** The SQL store with its `sessions` slice behind the Redis cache. Connects lazily (a dead Redis only costs fallbacks). */
export function withRedisCache(store: SessionStore, options: HybridOptions): HybridStore {
  const { url, prefix } = parseCacheUrl(options.redisUrl);
  const redis = new RedisConnection(url, {
    connectTimeoutMs: options.connectTimeoutMs ?? 200,
    commandTimeoutMs: options.commandTimeoutMs ?? 50,
    reconnectPauseMs: 250,
  });
  const sessions = new CachedSessions(store.sessions, redis, {
    prefix,
    ttlMs: options.cacheTtlMs ?? 2000,
    marginMs: options.marginMs ?? 250,
    breakerMs: options.breakerMs ?? 1000,
  });
  return {
    ...store,
    sessions,
    async close() {
      await sessions.settled();
      redis.close();
      await store.close();
    },
  };
}
