-- extend.lua: extend the locks of in-flight messages (the heartbeat), each
-- fenced by its lock token.
--
-- KEYS: 1 msgs, 2 locks
-- ARGV: three per lock: mid, token, duration ms. The mids of one call are
--   distinct.
-- Reply: one integer per lock: 1 extended to now + duration, 0 lock lost
--   (the message is gone, done, or another handling owns it; nothing
--   changed).

local now = now_ms()
local n = #ARGV / 3
local mids = {}
for i = 1, n do mids[i] = ARGV[(i - 1) * 3 + 1] end
local vals = hmget(KEYS[1], mids)

local res, sets, lockz = {}, {}, {}
for i = 1, n do
  local b = (i - 1) * 3
  local token = tonumber(ARGV[b + 2])
  local v = vals[i]
  res[i] = 0
  if v then
    local flags, att, tok, lock_exp, bo_exp, lock_ms, first = struct.unpack(HDR, v)
    if not is_done(flags) and tok ~= 0 and tok == token then
      local exp = now + tonumber(ARGV[b + 3])
      sets[#sets + 1] = mids[i]
      sets[#sets + 1] = pack_msg(flags, att, tok, exp, bo_exp, lock_ms, first, body_of(v))
      lockz[#lockz + 1] = exp
      lockz[#lockz + 1] = mids[i]
      res[i] = 1
    end
  end
end
if #sets > 0 then
  callv('HSET', KEYS[1], sets)
  callv('ZADD', KEYS[2], lockz)
end
return res
