-- mix: of every 10 operations 6 validate, 3 refresh and 1 create followed by the logout
-- (POST /session/revoke) of the session it created, so 11 requests per 10 operations.
-- args: nthreads, service key, validate pool file, refresh token file, run label
local common = require "common"
setup, done = common.setup, common.done
local service, pick_valid, take_refresh, label, n
local logouts = {}

function init(args)
  common.init(args)
  service = common.with_auth(args[2])
  pick_valid = common.any(common.read_share(args[3]))
  take_refresh = common.once(common.read_share(args[4]))
  label = args[5]
  n = 0
end

function request()
  -- A connection is free: a pending logout of a created session goes first.
  local token = table.remove(logouts)
  if token then
    return wrk.format("POST", "/session/revoke", common.json, '{"refresh_token":"' .. token .. '"}')
  end
  local r = math.random()
  if r < 0.6 then
    return wrk.format("POST", "/session/validate", service, '{"refresh_token":"' .. pick_valid() .. '"}')
  elseif r < 0.9 then
    return wrk.format("POST", "/session/refresh", common.json, '{"refresh_token":"' .. take_refresh() .. '"}')
  end
  n = n + 1
  return wrk.format("POST", "/session", service, string.format(
    '{"user_id":"%s-%d-%d","user_agent":"Mozilla/5.0 (bench)","ip":"192.0.2.1"}', label, thread_id, n))
end

function response(status, headers, body)
  if status == 201 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then table.insert(logouts, token) end
  end
end
