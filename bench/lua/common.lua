-- Shared by every workload script (wrk 4 Lua API). wrk runs setup() and done() in its main Lua
-- state and init/request/response in one state per thread, so threads are numbered in setup()
-- and each thread takes its own disjoint share of a token file: no token is sent twice.
-- Every script's first argument is the number of wrk threads.
local M = {}
local threads = {}
local next_id = 0

function M.setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Call first in init(args): globals the other helpers and done() read.
function M.init(args)
  nthreads = tonumber(args[1])
  exhausted = 0
  math.randomseed(os.time() * 1000 + thread_id)
end

-- This thread's share of the lines of a file: every nthreads-th line.
function M.read_share(path)
  local out, i = {}, 0
  for line in io.lines(path) do
    if i % nthreads == thread_id then out[#out + 1] = line end
    i = i + 1
  end
  return out
end

-- A function handing out each line once; past the end it counts the shortfall in `exhausted`
-- (the figure then does not count) and hands out a token that matches nothing.
function M.once(lines)
  local i = 0
  return function()
    i = i + 1
    if i <= #lines then return lines[i] end
    exhausted = exhausted + 1
    return "exhausted-" .. thread_id .. "-" .. i
  end
end

function M.any(lines)
  return function() return lines[math.random(#lines)] end
end

M.json = { ["Content-Type"] = "application/json" }

function M.with_auth(token)
  return { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
end

-- One machine-readable line for bench/load.ts; latencies in microseconds.
function M.done(summary, latency, requests)
  local short, wrong = 0, 0
  for _, thread in ipairs(threads) do
    short = short + (thread:get("exhausted") or 0)
    -- 2xx answers a script's response() found wrong (e.g. an introspection saying inactive).
    wrong = wrong + (thread:get("wrong") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"status_errors":%d,"socket_errors":%d,"exhausted":%d,"wrong":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout, short, wrong))
end

return M
