-- sessions.replayGrace. ARGV: prefix, session id, presented hash, grace start, now, access expiry,
-- user agent (opt), ip (opt), jti ('' for none), jti expiry.
-- Applied only while the presented hash is the previous token, rotated at or after the grace start,
-- of the active session: the access expiry (only forward) and the client fields move, nothing else
-- (no last_used_at, no deadline). Replies {'none'} | {'proof_replayed'} | {'ok', row}.
local id, presented, grace_start = ARGV[2], ARGV[3], tonumber(ARGV[4])
local now, access = tonumber(ARGV[5]), tonumber(ARGV[6])
local user_agent, ip = opt(ARGV[7]), opt(ARGV[8])

local r = load(id)
if not r or not is_active(r, now) or r.previous_token_hash ~= presented or not r.rotated_at
    or tonumber(r.rotated_at) < grace_start then
  return { 'none' }
end
if not remember_proof(9, now) then return { 'proof_replayed' } end

r.access_expires_at = num(math.max(tonumber(r.access_expires_at), access))
if user_agent then r.user_agent = user_agent end
if ip then r.ip = ip end
local flat = to_flat(r)
redis.call('HSET', K.sess(id), unpack(flat))
return { 'ok', flat }
