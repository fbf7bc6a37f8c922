-- stats.lua: a queue's counts by status and how long its longest-waiting
-- ready message has waited, in O(1).
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 done, 5 deadidx, 6 lockgrp, 7 paused
-- ARGV: 1 look: how many ids at the head of ready to look at
-- Reply: {total, locked, backoff, done, dead, oldest_ms, paused}
--   locked: the lock groups' count (see lib.lua); oldest_ms: the longest
--   wait, in ms, among the first look ids of ready whose message is queued
--   now (0: none). A message is ready from the latest of its first
--   enqueue, its backoff expiry and its lock expiry: a message that came
--   due again keeps the expiry it came due at, and a retry without a
--   backoff records the ack's time as its backoff expiry (ack.lua).

local K_MSGS, K_READY, K_DELAY, K_DONE, K_DEADIDX, K_GRP, K_PAUSED = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local look = tonumber(ARGV[1])
local now = now_ms()

local oldest = 0
local ids = redis.call('LRANGE', K_READY, 0, look - 1)
if #ids > 0 then
  local vals = hmget(K_MSGS, ids)
  for i = 1, #ids do
    local v = vals[i]
    if v then
      local flags, _, _, lock_exp, bo_exp, _, first = unpack_hdr(v)
      if status(flags, lock_exp, bo_exp, now) == S_QUEUED then
        local since = math.max(first, lock_exp, bo_exp)
        if now - since > oldest then oldest = now - since end
      end
    end
  end
end

local locked = tonumber(redis.call('HGET', K_GRP, 'n') or 0)
return {redis.call('HLEN', K_MSGS), locked, redis.call('ZCARD', K_DELAY),
  redis.call('ZCARD', K_DONE), redis.call('ZCARD', K_DEADIDX), oldest,
  redis.call('EXISTS', K_PAUSED)}
