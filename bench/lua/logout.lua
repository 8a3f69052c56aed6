-- logout: POST /session/revoke (RFC 7009 style logout with the refresh token), every request a
-- different live session. It answers 200 for unknown tokens too, so a short pool shows only in `exhausted`.
-- args: nthreads, token file
local common = require "common"
setup, done = common.setup, common.done
local take

function init(args)
  common.init(args)
  take = common.once(common.read_share(args[2]))
end

function request()
  return wrk.format("POST", "/session/revoke", common.json, '{"refresh_token":"' .. take() .. '"}')
end
