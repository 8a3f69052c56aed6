-- acquireLease. ARGV: prefix, name, owner, ttl, now. Replies 1 when taken or renewed, else 0.
-- Expiry is decided on the caller's clock (expires_at); the key's own TTL only clears leftovers.
local key, owner, ttl, now = P .. 'lease:' .. ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local holder = redis.call('HMGET', key, 'owner', 'expires_at')
if holder[1] and holder[1] ~= owner and tonumber(holder[2]) > now then return 0 end
redis.call('HSET', key, 'owner', owner, 'expires_at', num(now + ttl))
redis.call('PEXPIRE', key, ttl + 60000)
return 1
