-- rotate. ARGV: prefix, presented hash, new hash, nonce, now, idle deadline, access expiry,
-- user agent (opt), ip (opt), grace start, retention.
-- Replies {'rotated', row} | {'grace', row} | {'reuse', version, row} | {'expired'} | {'invalid'}.
-- 'reuse' changes nothing: the caller builds the revocation event and revokes with revoke_one.
local presented, new_hash, nonce = ARGV[2], ARGV[3], ARGV[4]
local now, idle_deadline, access = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local user_agent, ip = opt(ARGV[8]), opt(ARGV[9])
local grace_start, retention = tonumber(ARGV[10]), tonumber(ARGV[11])

-- Access expiry only moves forward; user agent and ip are replaced when given (in the map r).
local function touch(r)
  r.access_expires_at = num(math.max(tonumber(r.access_expires_at), access))
  if user_agent then r.user_agent = user_agent end
  if ip then r.ip = ip end
end

-- 1. Compare-and-swap: only a request that finds the presented hash current wins.
local cur_id = redis.call('GET', K.cur(presented))
local cur = load(cur_id)
if cur and is_active(cur, now) then
  local id = cur_id
  if cur.previous_token_hash and redis.call('GET', K.prev(cur.previous_token_hash)) == id then
    redis.call('DEL', K.prev(cur.previous_token_hash))
  end
  cur.previous_token_hash = presented
  cur.refresh_token_hash = new_hash
  cur.rotation_nonce = nonce
  cur.rotated_at = num(now)
  cur.last_used_at = num(now)
  cur.expires_at = num(math.min(tonumber(cur.absolute_expires_at), idle_deadline))
  cur.rotation_count = num(tonumber(cur.rotation_count) + 1)
  touch(cur)
  local flat = to_flat(cur)
  redis.call('HSET', K.sess(id), unpack(flat))
  redis.call('DEL', K.cur(presented))
  redis.call('SET', K.cur(new_hash), id)
  redis.call('SET', K.prev(presented), id)
  -- Retired for reuse detection until the session can no longer exist (its absolute deadline).
  local retired_ttl = tonumber(cur.absolute_expires_at) + retention - now
  redis.call('SET', K.ret(presented), id, 'PX', math.max(1, retired_ttl))
  redis.call('SADD', K.sret(id), presented)
  redis.call('ZADD', K.user(cur.user_id), num(now), id)
  set_ttls(id, cur, now, retention)
  bump(cur.user_id, now, retention)
  return { 'rotated', flat }
end

-- 2. Grace replay: the token rotated most recently, within the window, of an active session.
local prev_id = redis.call('GET', K.prev(presented))
local prev = load(prev_id)
if prev and prev.previous_token_hash == presented and prev.rotated_at
    and tonumber(prev.rotated_at) >= grace_start and is_active(prev, now) then
  touch(prev)
  local flat = to_flat(prev)
  redis.call('HSET', K.sess(prev_id), unpack(flat))
  bump(prev.user_id, now, retention)
  return { 'grace', flat }
end

-- 3. Reuse: a retired token of a session that is still active.
local ret_id = redis.call('GET', K.ret(presented))
local ret, ret_flat = load(ret_id)
if ret then
  if is_active(ret, now) then return { 'reuse', version(ret.user_id), ret_flat } end
  return { 'invalid' }
end

-- 4. The current token of an unrevoked session that ran past its deadline.
if cur and cur.revoked_at == nil then return { 'expired' } end
return { 'invalid' }
