-- workers_register.lua: add or refresh a worker's registration.
--
-- KEYS: 1 the registry hash (id -> struct '>I6I6' last seen ms, expiry ms,
--   then the JSON the Go side wrote), 2 the expiry index (id by expiry ms)
-- ARGV: 1 worker id, 2 ttl ms, 3 JSON
-- Reply: 1
--
-- Up to 10 expired registrations (crashed workers) are dropped on the way,
-- so the registry stays bounded even when nobody lists it.

local now = now_ms()
local exp = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], struct.pack('>I6I6', now, exp) .. ARGV[3])
redis.call('ZADD', KEYS[2], numstr(exp), ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 10)
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return 1
