-- revokeSession and every single revocation. ARGV: prefix, session id, owner (opt), now, reason,
-- retention, expected version, events (n, 4 each: the revocation event built on that version).
-- Replies {'none'} (unknown, or not the owner's) | {'unchanged', row} (already ended)
-- | {'need', version, row} (build the event on this version and call again) | {'revoked', row}.
local id, owner, now, reason = ARGV[2], opt(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local retention, expected = tonumber(ARGV[6]), ARGV[7]
local events = read_events(8)

local r, flat = load(id)
if not r or (owner and r.user_id ~= owner) then return { 'none' } end
if not is_active(r, now) then return { 'unchanged', flat } end
local current = version(r.user_id)
if expected ~= current or #events ~= 1 then return { 'need', current, flat } end
revoke(id, r, reason, now, retention)
write_events(events)
bump(r.user_id, now, retention)
return { 'revoked', redis.call('HGETALL', K.sess(id)) }
