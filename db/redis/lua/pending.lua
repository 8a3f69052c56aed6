-- outbox.pendingEvents (read-only). ARGV: prefix, limit. Replies, in seq order,
-- {{id, seq, subject, created_at, payload or nil, facts or nil}…}: a created event carries its
-- document, a revocation the facts its script stored (outbox.ts builds the document from them).
local out = {}
for _, id in ipairs(redis.call('ZRANGE', K.pending, 0, tonumber(ARGV[2]) - 1)) do
  local f = redis.call('HMGET', K.event(id), 'seq', 'subject', 'created_at', 'payload', 'facts')
  out[#out + 1] = { id, f[1], f[2], f[3], f[4], f[5] }
end
return out
