-- slot_enqueue.lua: enqueue the message of one slot of a schedule, at most
-- once per slot (core.ScheduleStore.EnqueueSlot). The slots hash holds
-- each schedule's last enqueued slot; a slot at or before it is refused
-- with nothing written, so that a schedule's message is not enqueued again
-- after it was handled and garbage-collected. Otherwise the message goes
-- through the enqueue path and the slot is recorded, whatever the enqueue
-- answered (a refusal means the slot's message is in the queue).
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 requeue, 5 wake, 6 due, 7 slots
-- ARGV: 1 schedule name, 2 slot ms, 3 options packed as in enqueue.lua
--   ('>BI6I6': opts, delay ms, own lock ms), 4 mid, 5 body
-- Reply: 0 when the slot is at or before the last one; else the enqueue
--   answer: 1 added, 2 updated, -1 already-queued, -2 locked, -3 backoff.

local last = redis.call('HGET', KEYS[7], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
local o, delay, lock_ms = struct.unpack('>BI6I6', ARGV[3])
local st = enq_begin(now_ms(), KEYS[1], {ARGV[4]})
local r = enq(st, ARGV[4], o, delay, lock_ms, ARGV[5])
enq_flush(st, {msgs = KEYS[1], ready = KEYS[2], delay = KEYS[3],
               requeue = KEYS[4], wake = KEYS[5], due = KEYS[6]})
redis.call('HSET', KEYS[7], ARGV[1], ARGV[2])
return r
