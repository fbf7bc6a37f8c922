-- ack.lua: apply a batch of handler outcomes on one queue, each fenced by
-- its lock token.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 locks, 5 done, 6 wake, 7 dead,
--   8 deadidx, 9 lockgrp, 10 due
-- ARGV: 1 dead-letter limit (0: no dead letters); 2 the acks, packed per
--   ack as struct '>I8BI6': token, outcome (0 success, 1 retry, 2 error),
--   backoff ms; then the mids, one per ack (distinct within a call); then
--   one error text per error outcome, in order.
-- Reply: one integer per ack: 1 applied, 0 lock lost (nothing changed);
--   or, when every ack applied, their number.
--
-- A message cancelled while locked (flag 16, cancel.lua) is not retried:
-- its retry is applied as a success without backoff; the flag is cleared.
-- An ack applies if the message exists, is not done and its token is the
-- ack's: a late ack whose lock expired but which nobody took since still
-- applies. An applied ack spends the token (it is cleared). success: done;
-- held in done until the backoff expires, or until the next dequeue
-- requeues a pending copy; without either it is deleted now. retry:
-- unlocked, back to ready (waking a waiting worker), or to delay with a
-- backoff (waking one if it comes due before the queue's due bound, so
-- that its wait ends then: the same for a pending copy). Either way the
-- message leaves its lock group (lib.lua). error: as success
-- without backoff, plus a dead letter:
--   dead[mid] = struct '>I4I6I6I4' (attempts, failed-at ms, own lock ms,
--   #error) .. error .. body; deadidx: mid -> failed-at ms, the oldest
--   dropped beyond the limit.

local K_MSGS, K_READY, K_DELAY, K_LOCKS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_DONE, K_WAKE, K_DEAD, K_DEADIDX = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_GRP, K_DUE = KEYS[9], KEYS[10]
local dead_limit = ARGV[1] + 0
local packed = ARGV[2]
local n = #packed / 15
-- The server's time, read (TIME) on the first ack that needs it: a batch
-- of plain successes, the common case, deletes without it.
local now

-- The hot loop below (a batch of successes) is kept short: the flag tests
-- are written out (is_done: % 2, in_grp: % 8 >= F_GRP, is_canceled:
-- >= F_CANCEL), consecutive acks of one lock group are counted as a run,
-- the tables that only retries, backoffs and dead letters use are made
-- when one comes, and the per-ack answers only when one did not apply.
-- Calls hold at most 1000 acks (ack.go), so HMGET takes the ids straight
-- from ARGV. An ack record equal to the previous one (the acks of one
-- dequeued batch share token and outcome) is not unpacked again, and the
-- stored header's flags are read as its first byte and its token compared
-- as its bytes 6 to 13 with the ack's (a string.byte and a short
-- string.sub, 1.2k instructions, against 1.3k for a struct.unpack of the
-- header's first three fields).
local vals = redis.call('HMGET', K_MSGS, unpack(ARGV, 3, 2 + n))

local lost -- the indexes of the acks that did not apply
local dels, ndel = {}, 0
local sets, ready, delay, done, dead, deadidx -- made on first use
local grpdec, ndec = {}, 0 -- token string -> members leaving its group
local run_tok, run = 0, 0 -- the current run of one group's acks
local minadd = NEVER
local soon = false -- a retry or pending copy comes due later
local pos, next_err = 1, 3 + n
local prev, rtoken, routcome, rbackoff, rtokbytes -- the previous ack record, decoded
local sub, byte = string.sub, string.byte -- locals: two table lookups less per use
for i = 1, n do
  local rec = sub(packed, pos, pos + 14)
  pos = pos + 15
  if rec ~= prev then
    rtoken, routcome, rbackoff = struct.unpack('>I8BI6', rec)
    rtokbytes = string.sub(rec, 1, 8)
    prev = rec
  end
  local outcome, backoff = routcome, rbackoff
  local err
  if outcome == 2 then
    err = ARGV[next_err]
    next_err = next_err + 1
  end
  local mid = ARGV[2 + i]
  local v = vals[i]
  -- The flags and the token decide; the rest is read only for a rewrite.
  -- A short header has no token: the ack is late. The token is the
  -- header's bytes 6 to 13 (lib.lua).
  local flags = v and byte(v)
  if flags and flags ~= F_SHORT and flags % 2 == 0 and rtoken ~= 0 and sub(v, 6, 13) == rtokbytes then
    if flags >= F_CANCEL then
      flags = flags - F_CANCEL
      if outcome == 1 then outcome, backoff = 0, 0 end
    end
    if flags % 8 >= F_GRP then
      if rtoken ~= run_tok then
        if run > 0 then
          local t = numstr(run_tok)
          grpdec[t] = (grpdec[t] or 0) + run
        end
        run_tok, run = rtoken, 0
      end
      run = run + 1
      ndec = ndec + 1
      flags = flags - F_GRP
    end
    if outcome == 0 and backoff == 0 and flags % 4 < F_RQ then
      ndel = ndel + 1
      dels[ndel] = mid -- success: gone
    else
      if not sets then sets, ready, delay, done, dead, deadidx = {}, {}, {}, {}, {}, {} end
      local _, att, lock_exp, bo_exp, lock_ms, first
      _, att, _, lock_exp, bo_exp, lock_ms, first = unpack_hdr(v)
      now = now or now_ms()
      if outcome == 1 then
        -- Without a backoff, bo_exp records when the message became ready
        -- again (QueueStats' OldestReady, stats.lua); it is not in the
        -- future, so the status stays queued.
        local exp = now
        if backoff > 0 then
          exp = now + backoff
          if exp < minadd then minadd = exp end
          soon = true
          delay[#delay + 1] = numstr(exp)
          delay[#delay + 1] = mid
        else
          ready[#ready + 1] = mid
        end
        sets[#sets + 1] = mid
        sets[#sets + 1] = pack_hdr(flags, att, 0, 0, exp, lock_ms, first) .. body_of(v)
      else
        if outcome == 2 then
          backoff = 0
          if dead_limit > 0 then
            dead[#dead + 1] = mid
            dead[#dead + 1] = struct.pack('>I4I6I6I4', att, now, lock_ms, #err) .. err .. body_of(v)
            deadidx[#deadidx + 1] = numstr(now)
            deadidx[#deadidx + 1] = mid
          end
        end
        local exp = 0
        if backoff > 0 then exp = now + backoff end
        if has_rq(flags) or exp > 0 then
          local due = exp
          if due < now then due = now end
          if due < minadd then minadd = due end
          if has_rq(flags) then soon = true end
          done[#done + 1] = numstr(due)
          done[#done + 1] = mid
          sets[#sets + 1] = mid
          sets[#sets + 1] = pack_hdr(flags + 1, att, 0, 0, exp, lock_ms, first) .. body_of(v)
        else
          ndel = ndel + 1
          dels[ndel] = mid
        end
      end
    end
  else
    lost = lost or {}
    lost[#lost + 1] = i
  end
end
if run > 0 then
  local t = numstr(run_tok)
  grpdec[t] = (grpdec[t] or 0) + run
end

if ndec > 0 then
  for t, k in pairs(grpdec) do grp_dec(K_GRP, K_LOCKS, t, k) end
  redis.call('HINCRBY', K_GRP, 'n', numstr(-ndec))
end
if ndel > 0 then callv('HDEL', K_MSGS, dels) end
if sets then
  if #sets > 0 then callv('HSET', K_MSGS, sets) end
  if #delay > 0 then callv('ZADD', K_DELAY, delay) end
  if #done > 0 then callv('ZADD', K_DONE, done) end
end
-- A retry or pending copy that is due before anything else pending wakes
-- a waiting worker, whose wait ends at the old bound: it reads the new one.
if minadd < NEVER and due_lower(K_DUE, minadd) and soon then wake(K_WAKE) end
if sets and #ready > 0 then
  callv('RPUSH', K_READY, ready)
  wake(K_WAKE)
end
if sets and #dead > 0 then
  callv('HSET', K_DEAD, dead)
  callv('ZADD', K_DEADIDX, deadidx)
  local over = redis.call('ZCARD', K_DEADIDX) - dead_limit
  if over > 0 then
    local old = redis.call('ZRANGE', K_DEADIDX, 0, over - 1)
    callv('HDEL', K_DEAD, old)
    redis.call('ZREMRANGEBYRANK', K_DEADIDX, 0, over - 1)
  end
end
if not lost then return n end -- all applied: the count
local res = {}
for i = 1, n do res[i] = 1 end
for _, i in ipairs(lost) do res[i] = 0 end
return res
