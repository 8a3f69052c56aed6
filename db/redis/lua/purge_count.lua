-- admin.countPurgeable, one window of candidates (read-only). ARGV: prefix, revoked before,
-- expired before, offset, count. Replies {entries looked at, sessions that purge would delete}.
local revoked_before, expired_before = tonumber(ARGV[2]), tonumber(ARGV[3])
local upto = math.max(revoked_before, expired_before)
local ids = redis.call('ZRANGEBYSCORE', K.ends, '-inf', num(upto), 'LIMIT', ARGV[4], ARGV[5])
local matched = 0
for _, id in ipairs(ids) do
  local r = load(id)
  if r and is_purgeable(r, revoked_before, expired_before) then matched = matched + 1 end
end
return { #ids, matched }
