-- message.lua: one message, for the admin view, by id (O(1)).
--
-- KEYS: 1 msgs
-- ARGV: 1 mid
-- Reply: {now_us, value}, or {now_us} when no message has the id (now in
--   microseconds, as content.lua's)

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return {now} end
return {now, v}
