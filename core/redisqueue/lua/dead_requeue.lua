-- dead_requeue.lua: enqueue dead letters again as fresh messages (attempt
-- 0, headers and own lock duration kept) through the enqueue path, and
-- drop those that were added from the dead-letter list. A dead letter whose
-- id is live in the queue (the enqueue refuses it) stays.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 requeue, 5 wake, 6 dead, 7 deadidx,
--   8 due
-- ARGV: the mids to requeue (ids without a dead letter are ignored)
-- Reply: how many were requeued.

local now = now_ms()
local entries = hmget(KEYS[6], ARGV)
local st = enq_begin(now, KEYS[1], ARGV)
local gone = {}
for i = 1, #ARGV do
  local e = entries[i]
  if e then
    local att, failed, lock_ms, errlen = struct.unpack('>I4I6I6I4', e)
    local body = string.sub(e, 21 + errlen)
    if enq(st, ARGV[i], 0, 0, lock_ms, body) > 0 then gone[#gone + 1] = ARGV[i] end
  end
end
enq_flush(st, {msgs = KEYS[1], ready = KEYS[2], delay = KEYS[3],
               requeue = KEYS[4], wake = KEYS[5], due = KEYS[8]})
if #gone > 0 then
  callv('HDEL', KEYS[6], gone)
  callv('ZREM', KEYS[7], gone)
end
return #gone
