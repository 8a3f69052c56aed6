-- addServiceClient. ARGV: prefix, name, key hash, row JSON. Name and key hash are unique.
local by_name, by_hash = P .. 'clients', P .. 'clients:h'
if redis.call('HEXISTS', by_name, ARGV[2]) == 1 or redis.call('HEXISTS', by_hash, ARGV[3]) == 1 then return 0 end
redis.call('HSET', by_name, ARGV[2], ARGV[4])
redis.call('HSET', by_hash, ARGV[3], ARGV[4])
return 1
