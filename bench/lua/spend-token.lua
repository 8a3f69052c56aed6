-- refresh (POST /session/refresh) and logout (POST /session/revoke, RFC 7009 style): every
-- request spends a different live refresh token. Revoke answers 200 for unknown tokens too, so a
-- short pool shows only in `exhausted`.
-- args: nthreads, token file, path
local common = require "common"
setup, done = common.setup, common.done
local take, path

function init(args)
  common.init(args)
  take = common.once(common.read_share(args[2]))
  path = args[3]
end

function request()
  return wrk.format("POST", path, common.json, '{"refresh_token":"' .. take() .. '"}')
end
