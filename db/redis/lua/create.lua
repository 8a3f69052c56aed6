-- sessions.create. ARGV: prefix, now, retention, max, seed, victims (n, ids…), the created event
-- (id, subject, payload, created_at), then the row as field/value pairs.
-- The victims are the ones the caller chose with the core's evictionVictims from an 'evict' reply:
-- they are revoked unconditionally (if still active), then the session is inserted unless the user
-- is still at the cap (concurrent creates of the same user): then 'evict' again with the live rows.
-- Replies {'deleted'} | {'evict', n, (event id, row)×n, live rows…} | {'ok', n, (event id, row)×n},
-- n being the sessions this call revoked (reason session_limit).
local now, retention, max, seed = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = tonumber(ARGV[6])
local victims = {}
for j = 1, n do victims[j] = ARGV[6 + j] end
local i = 7 + n
local created_id, subject, payload, created_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
local fields = {}
for j = i + 4, #ARGV do fields[#fields + 1] = ARGV[j] end
local row = as_map(fields)
local id, user = row.session_id, row.user_id

if redis.call('EXISTS', K.udel(user)) == 1 then return { 'deleted' } end

local evicted = {}
for _, victim in ipairs(victims) do
  local r = load(victim)
  if r and r.user_id == user and is_active(r, now) then evicted[#evicted + 1] = revoke(victim, r, 'session_limit', now, retention, seed) end
end
local function reply(status, rows)
  local out = { status, #evicted }
  for _, e in ipairs(evicted) do
    out[#out + 1] = e[1]
    out[#out + 1] = e[2]
  end
  for _, r in ipairs(rows) do out[#out + 1] = r[3] end
  return out
end

if max > 0 then
  local live = live_rows(user, now, true)
  if #live >= max then return reply('evict', live) end
else
  -- No cap, so no full scan: drop the few least recently used members that ended.
  for _, member in ipairs(redis.call('ZRANGE', K.live(user), 0, 9)) do
    local r = load(member)
    if not r or not is_active(r, now) then redis.call('ZREM', K.live(user), member) end
  end
end

redis.call('HSET', K.sess(id), unpack(fields))
redis.call('ZADD', K.live(user), row.last_used_at, id)
redis.call('ZADD', K.user(user), row.created_at, id)
redis.call('ZADD', K.all, row.created_at, id)
set_ttls(id, row, now, retention)
enqueue(created_id, subject, created_at, 'payload', payload)
return reply('ok', {})
