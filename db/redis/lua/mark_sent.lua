-- markEventsSent. ARGV: prefix, now, retention, ids…
-- Also deletes (bounded) rows relayed longer ago than the retention.
local now, retention = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', K.pending, id) == 1 then
    redis.call('ZREM', K.age, id)
    redis.call('HSET', K.event(id), 'sent_at', num(now))
    redis.call('ZADD', K.sent, num(now), id)
  end
end
purge_sent(now - retention, 100)
return 1
