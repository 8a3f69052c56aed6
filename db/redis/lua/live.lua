-- sessions.listActiveSessions (read-only). ARGV: prefix, user, now. The active sessions of the
-- user's live set, in any order: what the user holds now, whatever they ever had.
local out = {}
for _, row in ipairs(live_rows(ARGV[2], tonumber(ARGV[3]), false)) do out[#out + 1] = row[3] end
return out
