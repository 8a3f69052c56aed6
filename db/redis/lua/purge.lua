-- admin.purge. ARGV: prefix, revoked before, expired before, sent before, proofs before, batch.
-- Deletes at most `batch` sessions and `batch` relayed events, and DPoP proof ids that expired
-- before the cut-off (their keys also expire on their own). Replies {sessions, events}.
local revoked_before, expired_before = tonumber(ARGV[2]), tonumber(ARGV[3])
local sent_before, proofs_before, batch = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local sessions = purge_sessions(revoked_before, expired_before, batch, batch * 10 + 100)
local events = purge_sent(sent_before, batch)
for _, jti in ipairs(redis.call('ZRANGEBYSCORE', K.proofs, '-inf', '(' .. num(proofs_before), 'LIMIT', 0, batch * 10)) do
  redis.call('DEL', K.proof(jti))
  redis.call('ZREM', K.proofs, jti)
end
return { sessions, events }
