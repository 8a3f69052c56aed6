-- pendingEvents. ARGV: prefix, limit. Replies {{id, seq, subject, payload, created_at}…} in seq order.
local out = {}
for _, id in ipairs(redis.call('ZRANGE', K.pending, 0, tonumber(ARGV[2]) - 1)) do
  local f = redis.call('HMGET', K.event(id), 'seq', 'subject', 'payload', 'created_at')
  out[#out + 1] = { id, f[1], f[2], f[3], f[4] }
end
return out
