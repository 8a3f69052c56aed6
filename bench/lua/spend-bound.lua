-- refresh of DPoP-bound sessions (issue 17): every request spends a different live refresh token
-- with the proof made for it ahead of the run (bench/dpop-proofs.ts), in the DPoP header.
-- args: nthreads, file of "token proof" lines
local common = require "common"
setup, done = common.setup, common.done
local take

function init(args)
  common.init(args)
  take = common.once(common.read_share(args[2]))
end

function request()
  local line = take()
  local space = line:find(" ", 1, true)
  local headers = { ["Content-Type"] = "application/json" }
  local token = line
  if space then
    token = line:sub(1, space - 1)
    headers["DPoP"] = line:sub(space + 1)
  end
  return wrk.format("POST", "/session/refresh", headers, '{"refresh_token":"' .. token .. '"}')
end
