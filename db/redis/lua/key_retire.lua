-- signingKeys.retireSigningKey. ARGV: prefix, kid, the retired row (JSON).
-- Replaces the row of a live key; 0 when there is none (unknown or already retired).
local current = redis.call('HGET', P .. 'keys', ARGV[2])
if not current or type(cjson.decode(current).retiredAt) == 'number' then return 0 end
redis.call('HSET', P .. 'keys', ARGV[2], ARGV[3])
return 1
