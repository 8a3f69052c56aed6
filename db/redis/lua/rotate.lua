-- sessions.rotate, the compare-and-swap. ARGV: prefix, session id, presented hash, new hash, nonce,
-- now, idle deadline, access expiry, user agent (opt), ip (opt), retention, jti ('' for none), jti expiry.
-- Applied only while the presented hash is the current token of the active session; the proof's jti
-- is recorded with it (a used one changes nothing). Replies {'none'} | {'proof_replayed'} | {'ok', row}.
local id, presented, new_hash, nonce = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, idle_deadline, access = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local user_agent, ip, retention = opt(ARGV[9]), opt(ARGV[10]), tonumber(ARGV[11])

local r = load(id)
if not r or not is_active(r, now) or r.refresh_token_hash ~= presented then return { 'none' } end
if not remember_proof(12, now) then return { 'proof_replayed' } end

r.previous_token_hash = presented
r.refresh_token_hash = new_hash
r.rotation_nonce = nonce
r.rotated_at = num(now)
r.rotation_count = num(tonumber(r.rotation_count) + 1)
r.last_used_at = num(now)
r.expires_at = num(math.min(tonumber(r.absolute_expires_at), idle_deadline))
r.access_expires_at = num(math.max(tonumber(r.access_expires_at), access))
if user_agent then r.user_agent = user_agent end
if ip then r.ip = ip end
local flat = to_flat(r)
redis.call('HSET', K.sess(id), unpack(flat))
redis.call('ZADD', K.live(r.user_id), num(now), id)
set_ttls(id, r, now, retention)
return { 'ok', flat }
