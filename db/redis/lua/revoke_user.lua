-- revokeUserSessions and deleteUser. ARGV: prefix, user, now, reason, retention, session to keep
-- (opt), mark deleted ('1'/'0'), expected version, events (n, 4 each, one per active session).
-- Replies {'done', count} or {'need', version, rows…} (build the events on this version, call again).
local user, now, reason, retention = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local keep, mark, expected = opt(ARGV[6]), ARGV[7] == '1', ARGV[8]
local events = read_events(9)

local live = live_rows(user, now, keep)
if #live > 0 then
  local current = version(user)
  if expected ~= current or #events ~= #live then return flats(live, { 'need', current }) end
  for _, row in ipairs(live) do revoke(row[1], row[2], reason, now, retention) end
  write_events(events)
end
if mark then redis.call('SET', K.udel(user), num(now), 'NX') end
if #live > 0 or mark then bump(user, now, retention) end
return { 'done', #live }
