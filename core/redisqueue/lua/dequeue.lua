-- dequeue.lua: one worker step on one queue: maintenance, then take and
-- lock up to max ready messages.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 locks, 5 done, 6 requeue, 7 wake,
--   8 seq, 9 lockgrp, 10 due, 11 paused
-- ARGV: 1 max, 2 default lock ms
-- Reply: {token, next_due_ms, mid1, value1, mid2, value2, ...}
--   token: the lock token of every message taken;
--   next_due_ms: when fewer than max were taken, ms until the earliest
--   delayed, locked or done entry may be due (0: none; it may be early,
--   never late); 0 after a full batch. value: the stored value (header ..
--   body) after locking, from which the caller reads attempts, own lock
--   duration, first enqueued and the body.
--   When nothing was taken, only next_due_ms, as an integer; -1: the queue
--   is paused, nothing was done. (Redis converts a script's table reply at
--   a fixed cost of about a fifth of an idle call's.)
--
-- Maintenance, only when the due bound has passed, each part bounded by
-- max: ids whose backoff expired go from delay to the head of ready; due
-- done ids are requeued (pending copy, to the tail) or garbage-collected;
-- expired lock groups are checked member by member (see lib.lua) and the
-- messages whose lock expired go to the head of ready. A message that is
-- due again is handled next, not behind the whole backlog: a crashed
-- handler's message comes back within its lock plus one dequeue. Then ids
-- are popped from ready and handled by status; only queued ones are
-- locked, all into one new lock group.

local K_MSGS, K_READY, K_DELAY, K_LOCKS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_DONE, K_RQ, K_WAKE, K_SEQ = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_GRP, K_DUE = KEYS[9], KEYS[10]

-- (EXISTS and GET, not one MGET: the two calls cost 6.5k instructions,
-- one MGET of both keys 7.1k; callgrind, Redis 7.0.)
if redis.call('EXISTS', KEYS[11]) == 1 then return -1 end -- paused

local lb = redis.call('GET', K_DUE)
lb = lb and lb + 0 or 0 -- 0: unknown (+ 0 converts once, tonumber twice)

-- Nothing due and nothing ready: answer at once (an idle worker's call).
-- With nothing delayed, locked or done (lb NEVER) there is no maintenance
-- to do and no due time to answer: the time (TIME, about a tenth of an
-- idle call) is read only if there is something to take.
local now, maint
local popped -- the first LPOP, when made here
if lb >= NEVER then
  popped = redis.call('LPOP', K_READY, ARGV[1]) -- the string: a number would be formatted
  if not popped then return 0 end
  now, maint = now_ms(), false
else
  now = now_ms()
  maint = lb <= now
  if not maint then
    popped = redis.call('LPOP', K_READY, ARGV[1])
    if not popped then
      local next_due = lb - now
      if next_due < 1 then next_due = 1 end
      return next_due
    end
  end
end

-- @defs
local max = ARGV[1] + 0
local default_lock = ARGV[2] + 0
local minadd = NEVER -- the earliest timer entry this call adds
local locked_delta = 0 -- change of the queue's locked total

-- cur caches values this call wrote (false: deleted), over what HMGET read.
local cur = {}
local function value(mid, read)
  local v = cur[mid]
  if v == nil then return read end
  return v
end

local left = true -- ready may still hold ids (false once a pop came up short)

-- to_head puts ids at the head of ready in their order (LPUSH reverses).
local function to_head(ids)
  local rev = {}
  for i = #ids, 1, -1 do rev[#rev + 1] = ids[i] end
  callv('LPUSH', K_READY, rev)
end

-- finish_done requeues the pending copy of a done message whose backoff
-- is over (the copy becomes the content, attempts and first-enqueued
-- restart, the id goes to ready), or deletes every trace of it.
local function finish_done(mid, flags)
  if has_rq(flags) then
    local copy = redis.call('HGET', K_RQ, mid)
    if copy then
      redis.call('HDEL', K_RQ, mid)
      local v = pack_hdr(0, 0, 0, 0, 0, struct.unpack('>I6', copy), now) .. string.sub(copy, 7)
      redis.call('HSET', K_MSGS, mid, v)
      cur[mid] = v
      redis.call('RPUSH', K_READY, mid)
      left = true
      return
    end
  end
  redis.call('HDEL', K_MSGS, mid)
  redis.call('HDEL', K_RQ, mid)
  cur[mid] = false
end

-- regroup: locked messages found outside their lock group (extended
-- after their group expired) join it again: token string -> {mids, min}.
local regroup = {}
local function rejoin(mid, tok, lock_exp)
  local t = numstr(tok)
  local g = regroup[t]
  if not g then
    g = {mids = {}, min = lock_exp}
    regroup[t] = g
  end
  g.mids[#g.mids + 1] = mid
  if lock_exp < g.min then g.min = lock_exp end
end

if maint then
  -- 1. Expired backoffs: to the head of ready, earliest due first (the
  --    status check on the way out of ready decides what happens).
  local ids = redis.call('ZRANGEBYSCORE', K_DELAY, '-inf', now, 'LIMIT', 0, max)
  if #ids > 0 then
    redis.call('ZREMRANGEBYRANK', K_DELAY, 0, #ids - 1)
    to_head(ids)
  end

  -- 2. Due done messages: requeue or gc.
  ids = redis.call('ZRANGEBYSCORE', K_DONE, '-inf', now, 'LIMIT', 0, max)
  if #ids > 0 then
    redis.call('ZREMRANGEBYRANK', K_DONE, 0, #ids - 1)
    local vals = hmget(K_MSGS, ids)
    for i = 1, #ids do
      local v = value(ids[i], vals[i])
      if v then
        local flags = unpack_hdr(v)
        if is_done(flags) then finish_done(ids[i], flags) end
      end
    end
  end

  -- 3. Expired lock groups, until about max members were checked: members
  --    whose own lock expired go back to ready; extended ones stay.
  local toks = redis.call('ZRANGEBYSCORE', K_LOCKS, '-inf', now, 'LIMIT', 0, max)
  local checked = 0
  for _, t in ipairs(toks) do
    if checked >= max then break end
    local tok = tonumber(t)
    local mids = {}
    local rec = redis.call('HGET', K_GRP, t)
    if rec then
      for m in string.gmatch(rec, '[^\n]+') do mids[#mids + 1] = m end
    else
      -- A member without a group: a per-message lock entry written before
      -- lock groups. Back to ready; the status check decides.
      redis.call('LPUSH', K_READY, t)
    end
    checked = checked + #mids + 1
    local keep, kmin, back, sets = {}, NEVER, {}, {}
    if #mids > 0 then
      local vals = hmget(K_MSGS, mids)
      for i = 1, #mids do
        local mid = mids[i]
        local v = value(mid, vals[i])
        if v then
          local flags, att, vtok, lock_exp, bo_exp, lock_ms, first = unpack_hdr(v)
          if vtok == tok and in_grp(flags) then
            if lock_exp > now then
              keep[#keep + 1] = mid
              if lock_exp < kmin then kmin = lock_exp end
            else
              local nv = pack_hdr(flags - F_GRP, att, vtok, lock_exp, bo_exp, lock_ms, first) .. body_of(v)
              cur[mid] = nv
              sets[#sets + 1] = mid
              sets[#sets + 1] = nv
              back[#back + 1] = mid
            end
          end
        end
      end
    end
    if #back > 0 then
      callv('HSET', K_MSGS, sets)
      to_head(back)
      locked_delta = locked_delta - #back
    end
    if #keep > 0 then
      redis.call('HSET', K_GRP, t, table.concat(keep, '\n'), '#' .. t, #keep)
      redis.call('ZADD', K_LOCKS, numstr(kmin), t)
      if kmin < minadd then minadd = kmin end
    else
      redis.call('ZREM', K_LOCKS, t)
      redis.call('HDEL', K_GRP, t, '#' .. t)
    end
  end
end

-- locked_hdr packs the header of a message taken now. Messages enqueued
-- together share it, so it is packed once per distinct set of fields.
local locked = {}
local function sub(t, k)
  local s = t[k]
  if not s then
    s = {}
    t[k] = s
  end
  return s
end
local function locked_hdr(flags, att, tok, lock_exp, lock_ms, first)
  local t = sub(sub(sub(locked, first), att), flags)
  local h = t[lock_ms]
  if not h then
    h = pack_hdr(flags, att, tok, lock_exp, 0, lock_ms, first)
    t[lock_ms] = h
  end
  return h
end

-- 4. Take from ready. The common message, queued and never handled (a
-- short header), goes straight to the take; the others are decoded and
-- handled by status. The loop avoids function calls and the # operator
-- per message (each costs about as much as a few table writes).
local out, nout = {0, 0}, 2
local taken = 0
local sets, grp = {}, {}
local gmin = NEVER
local c_first, c_att, c_flags, c_lms, c_h -- the last header packed
local token = 0
local olddec -- token string -> members taken out of an expired group
local budget = max * 4 -- bounds the skips per call
local ssub, sbyte = string.sub, string.byte -- locals: two table lookups less per use
while taken < max and budget > 0 do
  local want = math.min(max - taken, budget)
  local ids = popped
  if ids then
    popped = nil -- LPOP'ed above with want = max
  else
    ids = redis.call('LPOP', K_READY, numstr(want))
  end
  if not ids then
    left = false
    break
  end
  local nids = #ids
  if nids < want then left = false end
  budget = budget - nids
  local vals = redis.call('HMGET', K_MSGS, unpack(ids)) -- at most max, 1000, ids
  for i = 1, nids do
    local mid = ids[i]
    local v = cur[mid] -- what this call wrote, over what HMGET read
    if v == nil then v = vals[i] end
    if v then
      local _, flags, att, tok, lock_exp, bo_exp, lock_ms, first
      local hl -- the header's length, when the message is to be taken
      if sbyte(v) == F_SHORT then
        _, first = struct.unpack(SHORT, v)
        flags, att, lock_ms, hl = 0, 0, 0, SHORTLEN
      else
        flags, att, tok, lock_exp, bo_exp, lock_ms, first = struct.unpack(HDR, v)
        if is_done(flags) then
          if bo_exp > now then
            redis.call('ZADD', K_DONE, numstr(bo_exp), mid) -- held: keep it findable
            if bo_exp < minadd then minadd = bo_exp end
          else
            redis.call('ZREM', K_DONE, mid)
            finish_done(mid, flags)
          end
        elseif lock_exp > now then
          if not in_grp(flags) then -- taken, but outside its group
            local nv = pack_hdr(flags + F_GRP, att, tok, lock_exp, bo_exp, lock_ms, first) .. body_of(v)
            cur[mid] = nv
            sets[#sets + 1] = mid
            sets[#sets + 1] = nv
            rejoin(mid, tok, lock_exp)
          end
        elseif bo_exp > now then
          redis.call('ZADD', K_DELAY, numstr(bo_exp), mid)
          if bo_exp < minadd then minadd = bo_exp end
        else
          if in_grp(flags) then
            -- Its lock expired inside a group nobody checked yet.
            olddec = olddec or {}
            local t = numstr(tok)
            olddec[t] = (olddec[t] or 0) + 1
            flags = flags - F_GRP
          end
          if is_canceled(flags) then
            -- Cancelled, and its handler is gone: done, not handled again.
            finish_done(mid, flags)
          else
            hl = HDRLEN
          end
        end
      end
      if hl then
        if token == 0 then
          token = redis.call('INCR', K_SEQ)
          if token == 1 then
            -- A new counter starts at a time-derived value, so that tokens
            -- keep growing across a ClearQueues and a stale ack cannot
            -- match a new handling.
            token = now * 1024
            redis.call('SET', K_SEQ, numstr(token))
          end
        end
        local h
        if first == c_first and att == c_att and flags == c_flags and lock_ms == c_lms then
          h = c_h -- as the previous message's (a batch enqueued together)
        else
          local l = lock_ms
          if l == 0 then l = default_lock end
          local exp = now + l
          if exp < gmin then gmin = exp end
          h = locked_hdr(flags + F_GRP, att + 1, token, exp, lock_ms, first)
          c_first, c_att, c_flags, c_lms, c_h = first, att, flags, lock_ms, h
        end
        local nv = h .. ssub(v, hl + 1)
        cur[mid] = nv
        taken = taken + 1
        out[nout + 1] = mid
        out[nout + 2] = nv -- also what HSET writes
        nout = nout + 2
        grp[taken] = mid
      end
    end
  end
  if not left then break end -- drained: another LPOP would only answer nil
end

if #sets > 0 then callv('HSET', K_MSGS, sets) end
do -- the taken messages: out[3..] holds mid, value pairs
  local i, n = 3, nout
  while i <= n do
    local j = math.min(i + 999, n)
    redis.call('HSET', K_MSGS, unpack(out, i, j))
    i = j + 1
  end
end
if taken > 0 then
  local t = numstr(token)
  redis.call('HSET', K_GRP, t, table.concat(grp, '\n'), '#' .. t, numstr(taken))
  redis.call('ZADD', K_LOCKS, numstr(gmin), t)
  if gmin < minadd then minadd = gmin end
  locked_delta = locked_delta + taken
end
if olddec then
  for t, k in pairs(olddec) do
    grp_dec(K_GRP, K_LOCKS, t, k)
    locked_delta = locked_delta - k
  end
end
for t, g in pairs(regroup) do
  local rec = redis.call('HGET', K_GRP, t)
  local add = table.concat(g.mids, '\n')
  if rec then add = rec .. '\n' .. add end
  redis.call('HSET', K_GRP, t, add)
  redis.call('HINCRBY', K_GRP, '#' .. t, #g.mids)
  redis.call('ZADD', K_LOCKS, 'LT', numstr(g.min), t)
  if g.min < minadd then minadd = g.min end
  locked_delta = locked_delta + #g.mids
end
if locked_delta ~= 0 then redis.call('HINCRBY', K_GRP, 'n', numstr(locked_delta)) end

-- Chain-wake: another waiting worker may take what is left. A token
-- already in the wake list (a backlog that no worker waits on) makes the
-- look into ready needless.
if left and redis.call('LLEN', K_WAKE) == 0 and redis.call('LLEN', K_READY) > 0 then
  redis.call('RPUSH', K_WAKE, '1')
end

-- 5. The due bound: recomputed after maintenance, else lowered to what
--    this call added.
if maint then
  lb = NEVER
  for _, k in ipairs({K_DELAY, K_LOCKS, K_DONE}) do
    local e = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if e[2] then
      local s = tonumber(e[2])
      if s < lb then lb = s end
    end
  end
  redis.call('SET', K_DUE, numstr(lb))
elseif minadd < lb then
  lb = minadd
  redis.call('SET', K_DUE, numstr(lb))
end

local next_due = 0
if taken < max and lb < NEVER then
  next_due = lb - now
  if next_due < 1 then next_due = 1 end
end

if taken == 0 then return next_due end
out[1] = token
out[2] = next_due
return out
