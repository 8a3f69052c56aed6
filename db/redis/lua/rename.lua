-- sessions.renameSession. ARGV: prefix, session id, owner, name (opt: absent clears it), now.
-- Only an active session of the owner; nothing else changes and no event is written.
-- Replies {} (no such session) or the row.
local id, owner, name, now = ARGV[2], ARGV[3], opt(ARGV[4]), tonumber(ARGV[5])
local r = load(id)
if not r or r.user_id ~= owner or not is_active(r, now) then return {} end
if name then redis.call('HSET', K.sess(id), 'name', name) else redis.call('HDEL', K.sess(id), 'name') end
return redis.call('HGETALL', K.sess(id))
