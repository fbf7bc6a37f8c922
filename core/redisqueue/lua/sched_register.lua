-- sched_register.lua: register schedules of one queue until ttl from now
-- (core.ScheduleStore.RegisterSchedules). Each is a field of the sched
-- hash: name -> expiry ms (I6) .. next slot ms (I6) .. spec. Expired
-- fields are dropped here and when listed; the key itself expires with
-- its longest-lived registration.
--
-- KEYS: 1 sched
-- ARGV: 1 ttl ms, then per schedule: name, next slot ms (0: none), spec
-- Reply: the number of schedules registered.

local now = now_ms()
local ttl = tonumber(ARGV[1])
local exp = now + ttl
local n = 0
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], struct.pack('>I6I6', exp, tonumber(ARGV[i + 1])) .. ARGV[i + 2])
  n = n + 1
end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return n
