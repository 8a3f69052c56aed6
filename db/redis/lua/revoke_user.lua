-- sessions.revokeUserSessions and deleteUser. ARGV: prefix, user, now, reason, retention, session
-- to keep (opt), mark deleted ('1'/'0'), seed. Revokes every active session of the live set
-- (unconditionally, each with its outbox row), drops ended members, and sets the deletion mark in
-- the same script, so a create racing with it either ran before (and is revoked) or sees the mark.
-- Replies {n, (event id, row)×n}.
local user, now, reason, retention = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local keep, mark, seed = opt(ARGV[6]), ARGV[7] == '1', ARGV[8]

local out = { 0 }
for _, live in ipairs(live_rows(user, now, true)) do
  if live[1] ~= keep then
    local done = revoke(live[1], live[2], reason, now, retention, seed)
    out[1] = out[1] + 1
    out[#out + 1] = done[1]
    out[#out + 1] = done[2]
  end
end
if mark then redis.call('SET', K.udel(user), num(now), 'NX') end
return out
