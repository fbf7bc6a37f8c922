-- cancel.lua: cancel one message (core.Queue.Cancel).
--
-- KEYS: 1 msgs, 2 delay, 3 requeue, 4 locks, 5 lockgrp
-- ARGV: 1 mid
-- Reply: the message's status code before the call (core.Status).
--
-- queued, queued-with-backoff: every trace goes (an id left in ready is
-- skipped by the dequeue that pops it; one still indexed in an expired
-- lock group leaves it). locked, locked-with-requeue: the pending copy is
-- dropped and the header gets flag 16, which extend.lua answers (2), ack.lua
-- turns a retry into done with, and dequeue.lua drops the message with
-- once its lock has expired. done-with-requeue: the pending copy is
-- dropped. Other statuses: nothing changes.

local K_MSGS, K_DELAY, K_RQ, K_LOCKS, K_GRP = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mid = ARGV[1]
local v = redis.call('HGET', K_MSGS, mid)
if not v then return S_NONE end
local now = now_ms()
local flags, att, tok, lock_exp, bo_exp, lock_ms, first = unpack_hdr(v)
local st = status(flags, lock_exp, bo_exp, now)
if st == S_QUEUED or st == S_QUEUED_BO then
  if in_grp(flags) then
    grp_dec(K_GRP, K_LOCKS, numstr(tok), 1)
    redis.call('HINCRBY', K_GRP, 'n', -1)
  end
  redis.call('HDEL', K_MSGS, mid)
  redis.call('HDEL', K_RQ, mid)
  redis.call('ZREM', K_DELAY, mid)
elseif st == S_LOCKED or st == S_LOCKED_RQ or st == S_DONE_RQ then
  if has_rq(flags) then
    flags = flags - F_RQ
    redis.call('HDEL', K_RQ, mid)
  end
  if (st == S_LOCKED or st == S_LOCKED_RQ) and not is_canceled(flags) then
    flags = flags + F_CANCEL
  end
  redis.call('HSET', K_MSGS, mid, pack_hdr(flags, att, tok, lock_exp, bo_exp, lock_ms, first) .. body_of(v))
end
return st
