-- workers_list.lua: the live registrations (workers_register.lua).
--
-- KEYS: 1 the registry hash, 2 the expiry index
-- ARGV: none
-- Reply: {id1, value1, id2, value2, ...}, after dropping every expired
--   registration.

local now = now_ms()
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #old > 0 then
  callv('HDEL', KEYS[1], old)
  callv('ZREM', KEYS[2], old)
end
return redis.call('HGETALL', KEYS[1])
