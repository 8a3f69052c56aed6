/**
 * The three Lua scripts of the hybrid cache, run with EVALSHA (NOSCRIPT after a restart or
 * SCRIPT FLUSH: SCRIPT LOAD and once more). Keys are built inside the scripts from the prefix in
 * ARGV[1]; one Redis server (no cluster), like the Redis store.
 *
 * Entry value: "<uv>\n<userId>\n<validUntil ms>\n<row JSON>" (user ids hold no control characters).
 */
import type { RedisConnection } from "../redis/connection";

/**
 * lookup(prefix, entryKind, id, freshEpoch): the entry (when its user version still matches) or a miss.
 * Returns {1, value} or {0, epoch}; the epoch `ep` is created when missing (after a flush or restart).
 */
const LOOKUP = `
local p = ARGV[1]
local v = redis.call('GET', p .. ARGV[2] .. ':' .. ARGV[3])
if v then
  local uv, uid = string.match(v, '^([^\\n]*)\\n([^\\n]*)\\n')
  if uv ~= nil and (redis.call('GET', p .. 'uv:' .. uid) or '') == uv then return {1, v} end
end
local ep = redis.call('GET', p .. 'ep')
if not ep then
  ep = ARGV[4]
  redis.call('SET', p .. 'ep', ep)
end
return {0, ep}
`;

/**
 * fill(prefix, entryKind, id, epoch, sessionId, userId, tokenHash|'', validUntil, pxMs, rowJson):
 * sets the entry unless the epoch changed since the lookup (flush, restart) or a tombstone of the
 * session (dead:) or of the token (dt:) exists. Returns 1 when set.
 */
const FILL = `
local p = ARGV[1]
if redis.call('GET', p .. 'ep') ~= ARGV[4] then return 0 end
if redis.call('EXISTS', p .. 'dead:' .. ARGV[5]) == 1 then return 0 end
if ARGV[7] ~= '' and redis.call('EXISTS', p .. 'dt:' .. ARGV[7]) == 1 then return 0 end
local uv = redis.call('GET', p .. 'uv:' .. ARGV[6]) or ''
redis.call('SET', p .. ARGV[2] .. ':' .. ARGV[3], uv .. '\\n' .. ARGV[6] .. '\\n' .. ARGV[8] .. '\\n' .. ARGV[10], 'PX', ARGV[9])
return 1
`;

/**
 * invalidate(prefix, tombstoneMs, newUserVersion, nTokens, tokens…, nSessions, sessions…, nUsers, users…, nRefreshed, ids…):
 * deletes tok:{hash} and sets dt:{hash} for each token hash; deletes sid:{id} and sets dead:{id}
 * for each ended session; sets uv:{user} to a new unique value for each user; deletes sid:{id} of
 * rotated (still active) sessions.
 */
const INVALIDATE = `
local p = ARGV[1]
local ttl = ARGV[2]
local i = 4
local n = tonumber(ARGV[i])
for j = 1, n do
  local h = ARGV[i + j]
  redis.call('DEL', p .. 'tok:' .. h)
  redis.call('SET', p .. 'dt:' .. h, '1', 'PX', ttl)
end
i = i + n + 1
n = tonumber(ARGV[i])
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
  redis.call('DEL', p .. 'sid:' .. ARGV[i + j])
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
