-- admin.listSessions of one user (read-only). ARGV: prefix, user. Every stored session of the
-- user, newest first; members whose keys expired are skipped.
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', K.user(ARGV[2]), 0, -1)) do
  local _, flat = load(id)
  if flat then out[#out + 1] = flat end
end
return out
