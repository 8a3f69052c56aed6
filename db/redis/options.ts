/**
 * DATABASE_URL for Redis: `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS), with
 * two optional query parameters of this store, removed before the URL reaches the client:
 * `prefix` (key prefix, default "sessions:") and `retention` (how long ended sessions and relayed
 * events are kept, a duration such as 30d; default 30d).
 */
import { parseDuration } from "../../server/core/duration";
import { DEFAULT_PREFIX } from "./keys";

export const DEFAULT_RETENTION_MS = 30 * 24 * 3_600_000;

export interface RedisUrl {
  /** The URL for Bun's client. */
  url: string;
  prefix: string;
  retentionMs: number;
}

export const isRedisUrl = (url: string) => /^rediss?:\/\//.test(url);

export function parseRedisUrl(text: string): RedisUrl {
  const url = new URL(text);
  const prefix = url.searchParams.get("prefix") ?? DEFAULT_PREFIX;
  const retentionText = url.searchParams.get("retention");
  const retentionMs = retentionText === null ? DEFAULT_RETENTION_MS : parseDuration(retentionText);
  if (retentionMs === null || retentionMs < 1000) {
    throw new Error("DATABASE_URL: retention must be a duration of 1s or more (e.g. 30d)");
  }
  url.searchParams.delete("prefix");
  url.searchParams.delete("retention");
  return { url: url.toString(), prefix, retentionMs };
}
