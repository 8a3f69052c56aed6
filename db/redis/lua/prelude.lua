-- Shared by every script (scripts.ts prepends it). ARGV[1] is the key prefix. Keys are built here
-- rather than passed as KEYS, so the store needs one Redis node (no Cluster); see README-redis.md.
-- Times are epoch milliseconds. A session's absent hash field is a null column.
local P = ARGV[1]
local K = {
  sess = function(id) return P .. 's:' .. id end,
  sret = function(id) return P .. 's:' .. id .. ':r' end,
  cur = function(h) return P .. 't:' .. h end,
  prev = function(h) return P .. 'p:' .. h end,
  ret = function(h) return P .. 'r:' .. h end,
  user = function(u) return P .. 'u:' .. u end,
  uver = function(u) return P .. 'uv:' .. u end,
  udel = function(u) return P .. 'ud:' .. u end,
  event = function(id) return P .. 'ob:e:' .. id end,
  all = P .. 'all',
  ends = P .. 'end',
  seq = P .. 'ob:seq',
  pending = P .. 'ob:q',
  age = P .. 'ob:age',
  sent = P .. 'ob:sent',
}

local function num(n) return string.format('%.0f', n) end

-- "" is absent, "=text" is text: lets an optional argument be an empty string.
local function opt(s)
  if s == '' then return nil end
  return string.sub(s, 2)
end

local function as_map(flat)
  local r = {}
  for i = 1, #flat, 2 do r[flat[i]] = flat[i + 1] end
  return r
end

-- The session as a map and as HGETALL's flat list, or nil.
local function load(id)
  if not id then return nil, nil end
  local flat = redis.call('HGETALL', K.sess(id))
  if #flat == 0 then return nil, nil end
  return as_map(flat), flat
end

local function is_active(r, now)
  return r.revoked_at == nil and tonumber(r.expires_at) > now
end

-- When the session ended or will end: its revocation, else its deadline.
local function end_of(r)
  if r.revoked_at then return tonumber(r.revoked_at) end
  return tonumber(r.expires_at)
end

local function has_ended(r, ended_before, now)
  if r.revoked_at then return tonumber(r.revoked_at) <= ended_before end
  return tonumber(r.expires_at) <= math.min(ended_before, now)
end

-- Lengthens a key's time to live to at least ttl ms; never shortens it.
local function extend(key, ttl)
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ttl) then redis.call('PEXPIRE', key, ttl) end
end

-- Every key of a session lives until the session's end plus the retention, moved on each change.
local function set_ttls(id, r, now, retention)
  local ttl = end_of(r) + retention - now
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', K.sess(id), ttl)
  redis.call('PEXPIRE', K.sret(id), ttl)
  redis.call('PEXPIRE', K.cur(r.refresh_token_hash), ttl)
  if r.previous_token_hash then redis.call('PEXPIRE', K.prev(r.previous_token_hash), ttl) end
  extend(K.user(r.user_id), ttl)
  extend(K.uver(r.user_id), ttl)
  redis.call('ZADD', K.ends, num(end_of(r)), id)
end

-- The user's version: every change to one of the user's sessions (or the deleted mark) moves it.
local function version(user)
  return redis.call('GET', K.uver(user)) or '0'
end

local function bump(user, now, retention)
  local key = K.uver(user)
  -- Starting from the clock, a version key that expired and comes back never repeats an old value.
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, num(now)) end
  redis.call('INCR', key)
  extend(key, retention)
end

local function revoke(id, r, reason, now, retention)
  redis.call('HSET', K.sess(id), 'revoked_at', num(now), 'revoke_reason', reason)
  r.revoked_at = num(now)
  r.revoke_reason = reason
  set_ttls(id, r, now, retention)
end

-- The user's active sessions as {id, map, flat}, least recently used first; drops index entries of
-- sessions whose keys expired.
local function live_rows(user, now, keep)
  local rows = {}
  for _, id in ipairs(redis.call('ZRANGE', K.user(user), 0, -1)) do
    local r, flat = load(id)
    if not r then
      redis.call('ZREM', K.user(user), id)
    elseif id ~= keep and is_active(r, now) then
      rows[#rows + 1] = { id, r, flat }
    end
  end
  return rows
end

-- How many active sessions the user has (cheaper than live_rows: two fields each).
local function live_count(user, now)
  local n = 0
  for _, id in ipairs(redis.call('ZRANGE', K.user(user), 0, -1)) do
    local f = redis.call('HMGET', K.sess(id), 'revoked_at', 'expires_at')
    if f[2] and not f[1] and tonumber(f[2]) > now then n = n + 1 end
  end
  return n
end

local function to_flat(r)
  local flat = {}
  for k, v in pairs(r) do
    flat[#flat + 1] = k
    flat[#flat + 1] = v
  end
  return flat
end

local function flats(rows, out)
  for _, row in ipairs(rows) do out[#out + 1] = row[3] end
  return out
end

-- ARGV[i] = n, then n items.
local function read_list(i)
  local n = tonumber(ARGV[i])
  local out = {}
  for j = 1, n do out[j] = ARGV[i + j] end
  return out, i + n + 1
end

-- ARGV[i] = n, then n events of 4 arguments: id, subject, payload, created_at.
local function read_events(i)
  local n = tonumber(ARGV[i])
  local out = {}
  for j = 0, n - 1 do
    local b = i + 1 + j * 4
    out[#out + 1] = { ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3] }
  end
  return out, i + 1 + n * 4
end

-- Outbox rows: seq from one counter, so the pending set's order is commit order.
local function write_events(events)
  for _, e in ipairs(events) do
    local seq = redis.call('INCR', K.seq)
    redis.call('HSET', K.event(e[1]), 'seq', seq, 'subject', e[2], 'payload', e[3], 'created_at', e[4])
    redis.call('ZADD', K.pending, seq, e[1])
    redis.call('ZADD', K.age, e[4], e[1])
  end
end

-- Deletes a session, its token index entries and its listing entries.
local function forget(id)
  local r = load(id)
  if r then
    local function del_if_ours(key)
      if redis.call('GET', key) == id then redis.call('DEL', key) end
    end
    del_if_ours(K.cur(r.refresh_token_hash))
    if r.previous_token_hash then del_if_ours(K.prev(r.previous_token_hash)) end
    for _, h in ipairs(redis.call('SMEMBERS', K.sret(id))) do del_if_ours(K.ret(h)) end
    redis.call('DEL', K.sess(id), K.sret(id))
    redis.call('ZREM', K.user(r.user_id), id)
  end
  redis.call('ZREM', K.all, id)
  redis.call('ZREM', K.ends, id)
end

-- Deletes up to `limit` sessions that ended at or before ended_before, looking at no more than
-- `budget` index entries. Entries whose keys already expired are dropped without counting.
local function purge_ended(ended_before, now, limit, budget)
  local done, skipped, seen = 0, 0, 0
  while done < limit and seen < budget do
    local ids = redis.call('ZRANGEBYSCORE', K.ends, '-inf', num(ended_before), 'LIMIT', skipped, limit - done)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      seen = seen + 1
      local r = load(id)
      if not r then
        forget(id)
      elseif has_ended(r, ended_before, now) then
        forget(id)
        done = done + 1
      else
        skipped = skipped + 1
      end
    end
  end
  return done
end

-- Deletes up to `limit` outbox rows relayed at or before sent_before.
local function purge_sent(sent_before, limit)
  local ids = redis.call('ZRANGEBYSCORE', K.sent, '-inf', num(sent_before), 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    redis.call('DEL', K.event(id))
    redis.call('ZREM', K.sent, id)
  end
  return #ids
end
