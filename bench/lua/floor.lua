-- HTTP floor: the same request shape as validate (POST, small JSON body) to a trivial route.
local common = require "common"
setup, done = common.setup, common.done
local body = '{"refresh_token":"' .. string.rep("x", 43) .. '"}'

function init(args) common.init(args) end

function request() return wrk.format("POST", "/floor", common.json, body) end
