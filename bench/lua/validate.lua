-- validate: POST /session/validate with the service key, a random live token of the pool each time.
-- args: nthreads, service key, pool file
local common = require "common"
setup, done = common.setup, common.done
local headers, pick

function init(args)
  common.init(args)
  headers = common.with_auth(args[2])
  pick = common.any(common.read_share(args[3]))
end

function request()
  return wrk.format("POST", "/session/validate", headers, '{"refresh_token":"' .. pick() .. '"}')
end
