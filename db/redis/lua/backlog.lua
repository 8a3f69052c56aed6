-- The event backlog for stats. ARGV: prefix. Replies {pending, oldest created_at or nil}.
local oldest = redis.call('ZRANGE', K.age, 0, 0, 'WITHSCORES')
return { redis.call('ZCARD', K.pending), oldest[2] }
