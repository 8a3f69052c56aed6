-- What revokeByTokenHash would revoke. ARGV: prefix, hash, grace start.
-- Replies {'logout', version, row} for a current token (any state) or the previous one within the
-- window; {'refresh_token_reuse', version, row} for a retired one; or {'unknown'}.
local hash, grace_start = ARGV[2], tonumber(ARGV[3])

local r, flat = load(redis.call('GET', K.cur(hash)))
if r then return { 'logout', version(r.user_id), flat } end
r, flat = load(redis.call('GET', K.prev(hash)))
if r and r.previous_token_hash == hash and r.rotated_at and tonumber(r.rotated_at) >= grace_start then
  return { 'logout', version(r.user_id), flat }
end
r, flat = load(redis.call('GET', K.ret(hash)))
if r then return { 'refresh_token_reuse', version(r.user_id), flat } end
return { 'unknown' }
