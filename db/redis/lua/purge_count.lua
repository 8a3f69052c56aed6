-- purge --dry-run, one window of candidates. ARGV: prefix, ended before, now, offset, count.
-- Replies {entries looked at, sessions that purge would delete}.
local ended_before, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', K.ends, '-inf', num(ended_before), 'LIMIT', ARGV[4], ARGV[5])
local matched = 0
for _, id in ipairs(ids) do
  local r = load(id)
  if r and has_ended(r, ended_before, now) then matched = matched + 1 end
end
return { #ids, matched }
