-- dead_list.lua: a page of a queue's dead letters, newest first.
--
-- KEYS: 1 dead, 2 deadidx
-- ARGV: 1 offset, 2 limit
-- Reply: {mid1, entry1, mid2, entry2, ...}; entry as written by ack.lua.

local offset = tonumber(ARGV[1])
local ids = redis.call('ZREVRANGE', KEYS[2], offset, offset + tonumber(ARGV[2]) - 1)
local out = {}
if #ids == 0 then return out end
local vals = hmget(KEYS[1], ids)
for i = 1, #ids do
  if vals[i] then
    out[#out + 1] = ids[i]
    out[#out + 1] = vals[i]
  end
end
return out
