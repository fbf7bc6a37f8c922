-- enqueue.lua: enqueue a batch of messages to one queue.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 requeue, 5 wake
-- ARGV: five per message, in order:
--   mid, opts (bits: 1 can-update, 2 can-requeue, 4 reset-delay),
--   delay ms (0: none), own lock ms (0: none), body
-- Reply: one integer per message: 1 added, 2 updated, -1 already-queued,
--   -2 locked, -3 backoff.

local now = now_ms()
local n = #ARGV / 5
local mids = {}
for i = 1, n do mids[i] = ARGV[(i - 1) * 5 + 1] end

local st = enq_begin(now, KEYS[1], mids)
local res = {}
for i = 1, n do
  local b = (i - 1) * 5
  res[i] = enq(st, ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]),
               tonumber(ARGV[b + 4]), ARGV[b + 5])
end
enq_flush(st, {msgs = KEYS[1], ready = KEYS[2], delay = KEYS[3],
               requeue = KEYS[4], wake = KEYS[5]})
return res
