-- findActiveByTokenHash. ARGV: prefix, hash. Replies the session whose current token it is (any
-- state; the caller checks it is active), or an empty list.
local id = redis.call('GET', K.cur(ARGV[2]))
if not id then return {} end
return redis.call('HGETALL', K.sess(id))
