-- content.lua: one page of a queue's messages, for debugging (O(n)).
--
-- KEYS: 1 msgs, 2 body
-- ARGV: 1 HSCAN cursor (of msgs), 2 entries of that cursor's batch to skip (already
--   listed), 3 limit
-- Reply: {next_cursor, next_skip, now_ms, mid1, header1, body1, mid2, ...}
--   next_cursor is "0" after the last page; a page ends inside an HSCAN
--   batch by naming the batch's cursor again with a skip count.

local cursor = ARGV[1]
local skip = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local out = {'0', 0, now_ms()}
local mids, hdrs = {}, {}
local n = 0
local function finish()
  local bodies = hmget(KEYS[2], mids)
  for i = 1, n do
    out[#out + 1] = mids[i]
    out[#out + 1] = hdrs[i]
    out[#out + 1] = bodies[i] or ''
  end
  return out
end
while true do
  local r = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', limit)
  local kv = r[2]
  local pairs_n = #kv / 2
  for i = skip + 1, pairs_n do
    if n == limit then
      out[1] = cursor
      out[2] = i - 1
      return finish()
    end
    n = n + 1
    mids[n] = kv[2 * i - 1]
    hdrs[n] = kv[2 * i]
  end
  skip = 0
  cursor = r[1]
  if cursor == '0' or n == limit then break end
end
out[1] = cursor
return finish()
