-- refresh: POST /session/refresh, every request a different live refresh token.
-- args: nthreads, token file
local common = require "common"
setup, done = common.setup, common.done
local take

function init(args)
  common.init(args)
  take = common.once(common.read_share(args[2]))
end

function request()
  return wrk.format("POST", "/session/refresh", common.json, '{"refresh_token":"' .. take() .. '"}')
end
