/**
 * The three Lua scripts of the hybrid cache, run with EVALSHA (NOSCRIPT after a restart or
 * SCRIPT FLUSH: SCRIPT LOAD and once more). Keys are built inside the scripts from the prefix in
 * ARGV[1]; one Redis server (no cluster), like the Redis store.
 *
 * Keys: sid:{sessionId} (entry), dead:{sessionId} (ended-session tombstone), gen:{sessionId}
 * (rotation tombstone: the newest generation), uv:{userId} (user version), ep (cache epoch).
 * Entry value: "<uv>\n<userId>\n<validUntil ms>\n<row JSON>" (user ids hold no control characters).
 */
import type { RedisConnection } from "../redis/connection";

/**
 * lookup(prefix, sessionId, freshEpoch): the entry (when its user version still matches) or a miss.
 * Returns {1, value} or {0, epoch}; the epoch `ep` is created when missing (after a flush or restart).
 */
const LOOKUP = `
local p = ARGV[1]
local v = redis.call('GET', p .. 'sid:' .. ARGV[2])
if v then
  local uv, uid = string.match(v, '^([^\\n]*)\\n([^\\n]*)\\n')
  if uv ~= nil and (redis.call('GET', p .. 'uv:' .. uid) or '') == uv then return {1, v} end
end
local ep = redis.call('GET', p .. 'ep')
if not ep then
  ep = ARGV[3]
  redis.call('SET', p .. 'ep', ep)
end
return {0, ep}
`;

/**
 * fill(prefix, sessionId, epoch, userId, generation, validUntil, pxMs, rowJson): sets the entry
 * unless the epoch changed since the lookup (flush, restart), the session ended (dead:), or a
 * newer generation was rotated in since the row was read (gen:). Returns 1 when set.
 */
const FILL = `
local p = ARGV[1]
if redis.call('GET', p .. 'ep') ~= ARGV[3] then return 0 end
if redis.call('EXISTS', p .. 'dead:' .. ARGV[2]) == 1 then return 0 end
local gen = redis.call('GET', p .. 'gen:' .. ARGV[2])
if gen and tonumber(gen) > tonumber(ARGV[5]) then return 0 end
local uv = redis.call('GET', p .. 'uv:' .. ARGV[4]) or ''
redis.call('SET', p .. 'sid:' .. ARGV[2], uv .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[8], 'PX', ARGV[7])
return 1
`;

/**
 * invalidate(prefix, tombstoneMs, newUserVersion, nEnded, ids…, nUsers, users…, nRotated, (id, generation)…):
 * deletes sid:{id} and sets dead:{id} for each ended session; sets uv:{user} to a new unique value
 * for each user; deletes sid:{id} of each rotated session and raises gen:{id} to its generation
 * (never lowers it: invalidations of two rotations may arrive in either order).
 */
const INVALIDATE = `
local p = ARGV[1]
local ttl = ARGV[2]
local i = 4
local n = tonumber(ARGV[i])
for j = 1, n do
  local s = ARGV[i + j]
  redis.call('DEL', p .. 'sid:' .. s)
  redis.call('SET', p .. 'dead:' .. s, '1', 'PX', ttl)
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('SET', p .. 'uv:' .. ARGV[i + j], ARGV[3], 'PX', ttl)
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  local s, g = ARGV[i + 2 * j - 1], tonumber(ARGV[i + 2 * j])
  redis.call('DEL', p .. 'sid:' .. s)
  local old = tonumber(redis.call('GET', p .. 'gen:' .. s) or '-1')
  redis.call('SET', p .. 'gen:' .. s, tostring(math.max(old, g)), 'PX', ttl)
end
return 1
`;

const sha1 = (text: string) => new Bun.CryptoHasher("sha1").update(text).digest("hex");
const SCRIPTS = {
  lookup: { source: LOOKUP, sha: sha1(LOOKUP) },
  fill: { source: FILL, sha: sha1(FILL) },
  invalidate: { source: INVALIDATE, sha: sha1(INVALIDATE) },
};
export type HybridScript = keyof typeof SCRIPTS;

const isNoScript = (error: unknown) => error instanceof Error && /^(Redis: )?NOSCRIPT\b/.test(error.message);

export async function runScript(connection: RedisConnection, name: HybridScript, args: string[]): Promise<unknown> {
  const script = SCRIPTS[name];
  try {
    return await connection.send("EVALSHA", [script.sha, "0", ...args]);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    await connection.send("SCRIPT", ["LOAD", script.source]);
    return connection.send("EVALSHA", [script.sha, "0", ...args]);
  }
}
