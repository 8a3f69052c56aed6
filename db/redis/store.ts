/**
 * The Redis store (DATABASE_URL=redis://… or rediss://…): its repositories over one connection of
 * Bun's built-in RedisClient, composed into a SessionStore by `openRedisStore`, with the semantics
 * of the SQL stores. Every state change is ONE Lua script (scripts.ts, lua/), which Redis runs
 * alone: the change and its outbox rows commit together, and a compare-and-swap inside a script is
 * race-free. How revocations stay unconditional and why the per-user cost is bounded:
 * sessions.ts. What differs from SQL and how Redis must be configured: README-redis.md.
 *
 * Layout 2 (every key under a prefix, default "sessions:"; lua/prelude.lua builds the names):
 *   s:{id}          hash, one session: every SessionRow column under its SQL name; null = absent field
 *   ul:{user}       sorted set, the user's live (unrevoked) session ids by last_used_at
 *   u:{user}        sorted set, every retained session id of the user by created_at (operator listings)
 *   ud:{user}       deleted-user mark (deleted_at); never expires
 *   all             sorted set, every session id by created_at (listings, stats)
 *   end             sorted set, every session id by its end: revoked_at, else expires_at (purge)
 *   dp:{jti}        a used DPoP proof id, until it expires (PX); dp: sorted set of them by expiry (purge)
 *   ob:seq          outbox sequence (INCR); ob:e:{id} hash {seq, subject, created_at, payload | facts, sent_at}
 *   ob:q / ob:age   unsent event ids by seq (commit order) / by created_at (oldest pending)
 *   ob:sent         relayed event ids by sent_at (purge)
 *   keys            signing keys: kid → row JSON (MAC included)
 *   clients, clients:h          service clients: name → row JSON; key hash → row JSON
 *   lease:{name}    hash {owner, expires_at}
 *   layout          data layout version ("2"); layout 1 is converted by the first writer (migrate.ts),
 *                   any other refuses to open (server-checks.ts)
 *
 * Expiry: a session's hash carries a TTL of its end (the earlier deadline, or the revocation) plus
 * a retention (default 30 d, `?retention=` in the URL), moved on every rotation and revocation, so
 * Redis drops ended sessions on its own even without the scheduled purge; until then they stay
 * listable, countable and idempotently revocable, as in SQL. TTLs are computed from the caller's
 * `now`, not the Redis clock.
 */
import { ServiceError } from "../../server/core/errors";
import type { SessionStore } from "../../server/core/ports";
import { RedisAdmin } from "./admin";
import { RedisConnection } from "./connection";
import { keysOf } from "./keys";
import { parseRedisUrl } from "./options";
import { RedisOutbox } from "./outbox";
import { RedisLeases, RedisServiceClients, RedisSigningKeys } from "./registry";
import { Scripts } from "./scripts";
import { checkServer } from "./server-checks";
import { RedisSessions } from "./sessions";

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL, optionally with ?prefix=…&retention=… (options.ts). */
  url: string;
  /** Read-only sessionctl commands: write nothing at all (no layout key, no probe, no writing script). */
  readOnly?: boolean;
  connectTimeoutMs?: number;
  /** A command without an answer after this long is "unavailable". */
  commandTimeoutMs?: number;
}

export interface RedisStore extends SessionStore {
  sessions: RedisSessions;
}

/** Connects and checks the server (server-checks.ts); fails, without retrying, when Redis cannot be reached. */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const { url, prefix, retentionMs } = parseRedisUrl(options.url);
  const readOnly = options.readOnly ?? false;
  const connection = new RedisConnection(url, {
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    reconnectPauseMs: 250,
  });
  const keys = keysOf(prefix);
  try {
    await connection.connect();
    await checkServer(connection, keys, prefix, readOnly);
  } catch (error) {
    connection.close();
    throw error;
  }
  const scripts = new Scripts(connection, prefix, readOnly);
  return {
    sessions: new RedisSessions(connection, scripts, keys, retentionMs),
    signingKeys: new RedisSigningKeys(connection, scripts, keys),
    serviceClients: new RedisServiceClients(connection, scripts, keys),
    leases: new RedisLeases(scripts),
    outbox: new RedisOutbox(scripts, retentionMs),
    admin: new RedisAdmin(connection, scripts, keys),
    async checkWritable() {
      if (readOnly) throw new ServiceError("unavailable", "The store was opened read-only.");
      // A write with a short life: fails on a read-only replica and when out of memory (noeviction).
      await connection.send("SET", [keys.probe, "1", "PX", "10000"]);
    },
    async close() {
      connection.close();
    },
  };
}
