-- A page of the listing of all sessions, newest first (read-only). ARGV: prefix, start, stop (ranks).
-- Replies {entries looked at, rows…}; entries whose keys expired are skipped.
local ids = redis.call('ZREVRANGE', K.all, ARGV[2], ARGV[3])
local out = { #ids }
for _, id in ipairs(ids) do
  local _, flat = load(id)
  if flat then out[#out + 1] = flat end
end
return out
