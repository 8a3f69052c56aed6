-- The peer comparison (bench/peer.ts): this service and oidc-provider driven with the same
-- script, so both pay wrk the same per request, response() included. Every refresh and revoke
-- spends a different live token; validate and introspection take a random token of a pool.
-- A 2xx answer whose body lacks the expected text counts as `wrong` (the figure then does not
-- count): an introspection that says inactive, a refresh without a new refresh token.
-- args: nthreads, mode, token file, credential (service key for ours-validate; the client's
-- Basic credential, base64, for the peer's modes; "-" otherwise)
local common = require "common"
setup, done = common.setup, common.done

local FORM = "application/x-www-form-urlencoded"
local modes = {
  ["ours-refresh"] = { path = "/session/refresh", pick = "once", expect = '"refresh_token"' },
  ["ours-validate"] = { path = "/session/validate", pick = "any", expect = '"active":true', bearer = true },
  ["ours-revoke"] = { path = "/session/revoke", pick = "once" },
  ["peer-refresh"] = { path = "/token", pick = "once", expect = '"refresh_token"', form = "grant_type=refresh_token&refresh_token=" },
  ["peer-introspect"] = { path = "/token/introspection", pick = "any", expect = '"active":true', form = "token_type_hint=refresh_token&token=" },
  ["peer-revoke"] = { path = "/token/revocation", pick = "once", form = "token_type_hint=refresh_token&token=" },
}
local mode, take, headers

function init(args)
  common.init(args)
  wrong = 0
  mode = modes[args[2]]
  local lines = common.read_share(args[3])
  take = mode.pick == "once" and common.once(lines) or common.any(lines)
  if mode.form then
    headers = { ["Content-Type"] = FORM, ["Authorization"] = "Basic " .. args[4] }
  elseif mode.bearer then
    headers = common.with_auth(args[4])
  else
    headers = common.json
  end
end

function request()
  local body
  if mode.form then
    body = mode.form .. take()
  else
    body = '{"refresh_token":"' .. take() .. '"}'
  end
  return wrk.format("POST", mode.path, headers, body)
end

function response(status, _, body)
  if mode.expect and status < 300 and not string.find(body, mode.expect, 1, true) then wrong = wrong + 1 end
end
