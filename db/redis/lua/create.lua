-- createSession. ARGV: prefix, now, retention, max, expected version, victims (n, ids…),
-- events (n, 4 each), then the row as field/value pairs.
-- Replies {'deleted'}; {'evict', version, live rows…} when the cap needs victims the caller has
-- not chosen on this version (it builds their events and calls again); or {'ok'}.
local now, retention, max, expected = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local victims, i = read_list(6)
local events
events, i = read_events(i)
local fields = {}
for j = i, #ARGV do fields[#fields + 1] = ARGV[j] end
local row = as_map(fields)
local id, user = row.session_id, row.user_id

if redis.call('EXISTS', K.udel(user)) == 1 then return { 'deleted' } end

local current = version(user)
if #victims > 0 then
  if expected ~= current then return flats(live_rows(user, now, nil), { 'evict', current }) end
elseif max > 0 and live_count(user, now) >= max then
  return flats(live_rows(user, now, nil), { 'evict', current })
end

-- Same version as the caller's snapshot: the victims are still active and still the LRU ones.
for _, victim in ipairs(victims) do
  local r = load(victim)
  if r then revoke(victim, r, 'session_limit', now, retention) end
end

redis.call('HSET', K.sess(id), unpack(fields))
redis.call('SET', K.cur(row.refresh_token_hash), id)
redis.call('ZADD', K.user(user), row.last_used_at, id)
redis.call('ZADD', K.all, row.created_at, id)
set_ttls(id, row, now, retention)
write_events(events)
bump(user, now, retention)
-- Housekeeping, bounded: index entries of sessions ended longer ago than the retention.
purge_ended(now - retention, now, 10, 50)
return { 'ok' }
