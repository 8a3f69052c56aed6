-- purge (not a dry run). ARGV: prefix, ended before, now, batch.
-- Replies {sessions deleted, events deleted}.
local ended_before, now, batch = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
return { purge_ended(ended_before, now, batch, batch * 10 + 100), purge_sent(ended_before, batch) }
