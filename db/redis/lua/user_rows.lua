-- Every stored session of a user. ARGV: prefix, user. Drops index entries whose keys expired.
local user = ARGV[2]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', K.user(user), 0, -1)) do
  local r, flat = load(id)
  if r then out[#out + 1] = flat else redis.call('ZREM', K.user(user), id) end
end
return out
