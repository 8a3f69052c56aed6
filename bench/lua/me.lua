-- me: GET /session/me with the access token of a random user (each user holds 5 sessions).
-- args: nthreads, access-token file
local common = require "common"
setup, done = common.setup, common.done
local pick

function init(args)
  common.init(args)
  pick = common.any(common.read_share(args[2]))
end

function request()
  return wrk.format("GET", "/session/me", { ["Authorization"] = "Bearer " .. pick() })
end
