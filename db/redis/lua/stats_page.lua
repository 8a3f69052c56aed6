-- Counts over a page of all sessions, oldest first. ARGV: prefix, start, stop (ranks), now.
-- Replies {entries looked at, active, revoked, expired, user ids of the active ones…}.
local now = tonumber(ARGV[4])
local ids = redis.call('ZRANGE', K.all, ARGV[2], ARGV[3])
local active, revoked, expired, users = 0, 0, 0, {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', K.sess(id), 'user_id', 'revoked_at', 'expires_at')
  if f[1] then
    if f[2] then
      revoked = revoked + 1
    elseif tonumber(f[3]) <= now then
      expired = expired + 1
    else
      active = active + 1
      users[#users + 1] = f[1]
    end
  end
end
local out = { #ids, active, revoked, expired }
for _, u in ipairs(users) do out[#out + 1] = u end
return out
