-- create: POST /session with the service key, a new user each time (as after a login), so the
-- per-user session cap never evicts.
-- args: nthreads, service key, run label (keeps user ids unique across runs)
local common = require "common"
setup, done = common.setup, common.done
local headers, label, n

function init(args)
  common.init(args)
  headers = common.with_auth(args[2])
  label = args[3]
  n = 0
end

function request()
  n = n + 1
  return wrk.format("POST", "/session", headers, string.format(
    '{"user_id":"%s-%d-%d","user_agent":"Mozilla/5.0 (bench)","ip":"192.0.2.1"}', label, thread_id, n))
end
