-- sched_list.lua: the live registrations of one queue with each
-- schedule's last slot (core.ScheduleStore.Schedules); expired
-- registrations are dropped.
--
-- KEYS: 1 sched, 2 slots
-- ARGV: none
-- Reply: per live registration: name, stored value (see
--   sched_register.lua), last slot ms (0: none).

local now = now_ms()
local all = redis.call('HGETALL', KEYS[1])
local out, gone = {}, {}
for i = 1, #all, 2 do
  local exp = struct.unpack('>I6', all[i + 1])
  if exp > now then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
    out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], all[i]) or '0')
  else
    gone[#gone + 1] = all[i]
  end
end
if #gone > 0 then callv('HDEL', KEYS[1], gone) end
return out
