-- releaseLease. ARGV: prefix, name, owner. Only the owner's release has an effect.
local key = P .. 'lease:' .. ARGV[2]
if redis.call('HGET', key, 'owner') == ARGV[3] then redis.call('DEL', key) end
return 1
