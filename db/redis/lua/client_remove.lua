-- removeServiceClient. ARGV: prefix, name.
local by_name, by_hash = P .. 'clients', P .. 'clients:h'
local row = redis.call('HGET', by_name, ARGV[2])
if not row then return 0 end
redis.call('HDEL', by_hash, cjson.decode(row).keyHash)
redis.call('HDEL', by_name, ARGV[2])
return 1
