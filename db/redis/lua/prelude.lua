-- Shared by every script (scripts.ts prepends it). ARGV[1] is the key prefix. Keys are built here
-- rather than passed as KEYS, so the store needs one Redis node (no Cluster); see README-redis.md.
-- Times are epoch milliseconds from the caller's clock. A session's absent hash field is a null column.
local P = ARGV[1]
local K = {
  sess = function(id) return P .. 's:' .. id end,
  live = function(u) return P .. 'ul:' .. u end,
  user = function(u) return P .. 'u:' .. u end,
  udel = function(u) return P .. 'ud:' .. u end,
  proof = function(jti) return P .. 'dp:' .. jti end,
  event = function(id) return P .. 'ob:e:' .. id end,
  proofs = P .. 'dp',
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

local function to_flat(r)
  local flat = {}
  for k, v in pairs(r) do
    flat[#flat + 1] = k
    flat[#flat + 1] = v
  end
  return flat
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

-- session-rules.ts isPurgeable, with the cut-offs of PurgeCutoffs.
local function is_purgeable(r, revoked_before, expired_before)
  if r.revoked_at then return tonumber(r.revoked_at) <= revoked_before end
  return tonumber(r.expires_at) <= expired_before
end

-- Lengthens a key's time to live to at least ttl ms; never shortens it.
local function extend(key, ttl)
  local current = redis.call('PTTL', key)
  if current == -1 or (current >= 0 and current < ttl) then redis.call('PEXPIRE', key, ttl) end
end

-- A session lives until its end plus the retention, moved on each change; the user's sets at least as long.
local function set_ttls(id, r, now, retention)
  local ttl = end_of(r) + retention - now
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', K.sess(id), ttl)
  extend(K.user(r.user_id), ttl)
  extend(K.live(r.user_id), ttl)
  redis.call('ZADD', K.ends, num(end_of(r)), id)
end

-- A DPoP proof's jti, recorded once until it expires; false when it was recorded before.
-- ARGV[i] = jti ("" for none), ARGV[i + 1] = expires at. Called before any write of the change.
local function remember_proof(i, now)
  local jti = ARGV[i]
  if jti == '' then return true end
  local expires_at = tonumber(ARGV[i + 1])
  local ttl = expires_at - now
  if ttl < 1 then ttl = 1 end
  if not redis.call('SET', K.proof(jti), num(expires_at), 'NX', 'PX', num(ttl)) then return false end
  redis.call('ZADD', K.proofs, num(expires_at), jti)
  return true
end

-- Appends one outbox row: seq from one counter, so the pending set's order is commit order.
local function enqueue(id, subject, created_at, field, value)
  local seq = redis.call('INCR', K.seq)
  redis.call('HSET', K.event(id), 'seq', seq, 'subject', subject, 'created_at', created_at, field, value)
  redis.call('ZADD', K.pending, seq, id)
  redis.call('ZADD', K.age, created_at, id)
end

-- The id of the revocation event of session `sid` in the call that passed `seed`: a UUID (version 8,
-- name-based) from SHA-1, so the script chooses it without a round trip and the caller can tell which.
local function event_id(seed, sid)
  local h = redis.sha1hex(seed .. sid)
  local v = tonumber(string.sub(h, 17, 17), 16) % 4 + 1
  local variant = string.sub('89ab', v, v)
  return string.sub(h, 1, 8) .. '-' .. string.sub(h, 9, 12) .. '-8' .. string.sub(h, 14, 16) .. '-' ..
    variant .. string.sub(h, 18, 20) .. '-' .. string.sub(h, 21, 32)
end

-- What the relay needs to build the revocation's CloudEvent (outbox.ts, with the core's
-- revokedRowEvent): the row as revoked, without the token hashes and the rotation nonce.
local function revoked_facts(r)
  local facts = {}
  for k, v in pairs(r) do
    if k ~= 'refresh_token_hash' and k ~= 'previous_token_hash' and k ~= 'rotation_nonce' then facts[k] = v end
  end
  return cjson.encode(facts)
end

-- Revokes an active session unconditionally, with its outbox row. Returns {event id, row flat}.
local function revoke(id, r, reason, now, retention, seed)
  redis.call('HSET', K.sess(id), 'revoked_at', num(now), 'revoke_reason', reason)
  r.revoked_at = num(now)
  r.revoke_reason = reason
  redis.call('ZREM', K.live(r.user_id), id)
  set_ttls(id, r, now, retention)
  local event = event_id(seed, id)
  enqueue(event, 'session.revoked', num(now), 'facts', revoked_facts(r))
  return { event, to_flat(r) }
end

-- The user's active sessions from the live set, as {id, map, flat}. `prune`: drops members that
-- ended (expired, or gone after the retention) — only in scripts that may write.
local function live_rows(user, now, prune)
  local rows = {}
  for _, id in ipairs(redis.call('ZRANGE', K.live(user), 0, -1)) do
    local r, flat = load(id)
    if r and is_active(r, now) then
      rows[#rows + 1] = { id, r, flat }
    elseif prune then
      redis.call('ZREM', K.live(user), id)
    end
  end
  return rows
end

-- Deletes a session and its listing entries.
local function forget(id)
  local r = load(id)
  if r then
    redis.call('DEL', K.sess(id))
    redis.call('ZREM', K.user(r.user_id), id)
    redis.call('ZREM', K.live(r.user_id), id)
  end
  redis.call('ZREM', K.all, id)
  redis.call('ZREM', K.ends, id)
end

-- Deletes up to `limit` purgeable sessions, looking at no more than `budget` index entries.
-- Entries whose keys already expired (the retention) are dropped without counting.
local function purge_sessions(revoked_before, expired_before, limit, budget)
  local upto = math.max(revoked_before, expired_before)
  local done, skipped, seen = 0, 0, 0
  while done < limit and seen < budget do
    local ids = redis.call('ZRANGEBYSCORE', K.ends, '-inf', num(upto), 'LIMIT', skipped, limit - done)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      seen = seen + 1
      local r = load(id)
      if not r then
        forget(id)
      elseif is_purgeable(r, revoked_before, expired_before) then
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
