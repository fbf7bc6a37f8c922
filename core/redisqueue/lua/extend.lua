-- extend.lua: extend the locks of in-flight messages (the heartbeat), each
-- fenced by its lock token.
--
-- KEYS: 1 msgs, 2 locks, 3 due
-- ARGV: 1 the locks, packed per lock as struct '>I8I6': token, duration
--   ms; then the mids, one per lock (distinct within a call).
-- Reply: one integer per lock: 1 extended to now + duration, 0 lock lost
--   (the message is gone, done, or another handling owns it; nothing
--   changed), 2 extended but the message was cancelled (cancel.lua): the
--   worker is to cancel its handler.
--
-- A lock group's score is a lower bound of its members' expiries
-- (lib.lua), so an extension that moves an expiry later leaves the index
-- alone: the dequeue that finds the group due keeps the extended members
-- in it. One that moves an expiry earlier (a shorter duration than what
-- is left) lowers the group's score and the due bound.

local now = now_ms()
local packed = ARGV[1]
local n = #packed / 14
local mids = {}
for i = 1, n do mids[i] = ARGV[1 + i] end
local vals = hmget(KEYS[1], mids)

local res, sets = {}, {}
local earlier -- token string -> earliest shortened expiry
local minexp = NEVER
local pos = 1
for i = 1, n do
  local token, dur
  token, dur, pos = struct.unpack('>I8I6', packed, pos)
  local v = vals[i]
  res[i] = 0
  if v then
    local flags, att, tok, lock_exp, bo_exp, lock_ms, first = unpack_hdr(v)
    if not is_done(flags) and tok ~= 0 and tok == token then
      local exp = now + dur
      if exp < lock_exp and in_grp(flags) then
        earlier = earlier or {}
        local t = numstr(tok)
        if not earlier[t] or exp < earlier[t] then earlier[t] = exp end
        if exp < minexp then minexp = exp end
      end
      sets[#sets + 1] = mids[i]
      sets[#sets + 1] = pack_hdr(flags, att, tok, exp, bo_exp, lock_ms, first) .. body_of(v)
      res[i] = 1
      if is_canceled(flags) then res[i] = 2 end
    end
  end
end
if #sets > 0 then callv('HSET', KEYS[1], sets) end
if earlier then
  for t, exp in pairs(earlier) do redis.call('ZADD', KEYS[2], 'LT', numstr(exp), t) end
  due_lower(KEYS[3], minexp)
end
return res
