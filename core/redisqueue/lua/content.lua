-- content.lua: one page of a queue's messages, for debugging (O(n)).
--
-- KEYS: 1 msgs
-- ARGV: 1 HSCAN cursor, 2 entries of that cursor's batch to skip (already
--   listed), 3 limit
-- Reply: {next_cursor, next_skip, now_us, mid1, value1, mid2, value2, ...}
--   (now in microseconds, so that an age under a millisecond is not 0)
--   next_cursor is "0" after the last page; a page ends inside an HSCAN
--   batch by naming the batch's cursor again with a skip count.

local cursor = ARGV[1]
local skip = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local t = redis.call('TIME')
local out = {'0', 0, tonumber(t[1]) * 1000000 + tonumber(t[2])}
local n = 0
while true do
  local r = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', limit)
  local kv = r[2]
  local pairs_n = #kv / 2
  for i = skip + 1, pairs_n do
    if n == limit then
      out[1] = cursor
      out[2] = i - 1
      return out
    end
    out[#out + 1] = kv[2 * i - 1]
    out[#out + 1] = kv[2 * i]
    n = n + 1
  end
  skip = 0
  cursor = r[1]
  if cursor == '0' or n == limit then break end
end
out[1] = cursor
return out
