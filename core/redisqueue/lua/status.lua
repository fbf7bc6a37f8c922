-- status.lua: the status of one message.
--
-- KEYS: 1 msgs
-- ARGV: 1 mid
-- Reply: the status code (core.Status: 0 none ... 7 done-with-requeue).

local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return S_NONE end
local flags, att, tok, lock_exp, bo_exp = unpack_hdr(v)
return status(flags, lock_exp, bo_exp, now_ms())
