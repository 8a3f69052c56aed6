-- sessions.revokeSession, every single revocation (logout, admin, reuse). ARGV: prefix, session id,
-- owner (opt), now, reason, retention, seed. Unconditional: whatever rotations or grace replays ran
-- before, an active session is revoked here, with its outbox row (revoke() in the prelude).
-- Replies {'none'} (unknown, or not the owner's) | {'unchanged', row} (already ended)
-- | {'revoked', event id, row}.
local id, owner, now, reason = ARGV[2], opt(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local retention, seed = tonumber(ARGV[6]), ARGV[7]

local r, flat = load(id)
if not r or (owner and r.user_id ~= owner) then return { 'none' } end
if not is_active(r, now) then return { 'unchanged', flat } end
local done = revoke(id, r, reason, now, retention, seed)
return { 'revoked', done[1], done[2] }
