-- enqueue.lua: enqueue a batch of messages to one queue.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 requeue, 5 wake, 6 due
-- ARGV: 1 options, packed per message as struct '>BI6I6': opts (bits:
--   1 can-update, 2 can-requeue, 4 reset-delay), delay ms (0: none), own
--   lock ms (0: none); then two per message, in order: mid, body
-- Reply: one integer per message: 1 added, 2 updated, -1 already-queued,
--   -2 locked, -3 backoff.

local now = now_ms()
local n = (#ARGV - 1) / 2
local mids = {}
for i = 1, n do mids[i] = ARGV[2 * i] end

local st = enq_begin(now, KEYS[1], mids)
local res = {}
local pos = 1
for i = 1, n do
  local opts, delay, lock_ms
  opts, delay, lock_ms, pos = struct.unpack('>BI6I6', ARGV[1], pos)
  res[i] = enq(st, mids[i], opts, delay, lock_ms, ARGV[2 * i + 1])
end
enq_flush(st, {msgs = KEYS[1], ready = KEYS[2], delay = KEYS[3],
               requeue = KEYS[4], wake = KEYS[5], due = KEYS[6]})
return res
