-- lib_enqueue.lua: the enqueue of one message (SEMANTICS.md §3), shared by
-- enqueue.lua and dead_requeue.lua. Prepended after lib.lua.
--
-- A batch reads every current value with one HMGET and keeps its own
-- writes in a cache, so that a later request for the same id sees them; the
-- writes go to Redis once, in enq_flush.

-- Enqueue answers.
local R_ADDED, R_UPDATED = 1, 2
local R_ALREADY_QUEUED, R_LOCKED, R_BACKOFF = -1, -2, -3

-- Option bits.
local O_UPDATE, O_REQUEUE, O_RESET = 1, 2, 4

local function has_opt(opts, bit) return math.floor(opts / bit) % 2 == 1 end

-- enq_begin reads the current values of mids (unless the caller read
-- them already: vals).
local function enq_begin(now, msgs_key, mids, vals)
  local st = {now = now, cur = {}, set = omap(), rq = omap(), delay = omap(),
              ready = {}, wake = false, new = {}}
  vals = vals or hmget(msgs_key, mids)
  for i = 1, #mids do
    if st.cur[mids[i]] == nil then st.cur[mids[i]] = vals[i] end
  end
  return st
end

local function enq_set(st, mid, v)
  st.cur[mid] = v
  stage(st.set, mid, v)
end

-- new_hdr is the header of a new message; the messages of a batch mostly
-- share one, so it is packed once per distinct (backoff, lock) pair.
local function new_hdr(st, bo_exp, lock_ms)
  local by_lock = st.new[bo_exp]
  if not by_lock then
    by_lock = {}
    st.new[bo_exp] = by_lock
  end
  local h = by_lock[lock_ms]
  if not h then
    h = pack_hdr(0, 0, 0, 0, bo_exp, lock_ms, st.now)
    by_lock[lock_ms] = h
  end
  return h
end

-- enq_copy stores or replaces the pending requeue copy (lock duration and
-- body) of a locked or done message.
local function enq_copy(st, mid, v, opts, lock_ms, body)
  local flags, att, tok, lock_exp, bo_exp, own_ms, first = unpack_hdr(v)
  if has_rq(flags) then
    if not has_opt(opts, O_UPDATE) then return R_ALREADY_QUEUED end
    stage(st.rq, mid, struct.pack('>I6', lock_ms) .. body)
    return R_UPDATED
  end
  stage(st.rq, mid, struct.pack('>I6', lock_ms) .. body)
  enq_set(st, mid, pack_hdr(flags + 2, att, tok, lock_exp, bo_exp, own_ms, first) .. body_of(v))
  return R_ADDED
end

-- enq_copy_ready stores the copy of a message that is done for the next
-- dequeue to find (no backoff holds it), and puts its id in ready for that.
local function enq_copy_ready(st, mid, v, opts, lock_ms, body)
  local r = enq_copy(st, mid, v, opts, lock_ms, body)
  if r > 0 then
    st.ready[#st.ready + 1] = mid
    st.wake = true
  end
  return r
end

-- enq enqueues one message and answers one of the R_ codes.
local function enq(st, mid, opts, delay, lock_ms, body)
  local now = st.now
  local v = st.cur[mid]
  if not v then
    local bo_exp = 0
    if delay > 0 then
      bo_exp = now + delay
      stage(st.delay, mid, bo_exp)
    else
      st.ready[#st.ready + 1] = mid
    end
    enq_set(st, mid, new_hdr(st, bo_exp, lock_ms) .. body)
    st.wake = true
    return R_ADDED
  end

  local flags, att, tok, lock_exp, bo_exp, own_ms, first = unpack_hdr(v)
  if is_done(flags) then
    if bo_exp > now then
      if not has_opt(opts, O_REQUEUE) then return R_BACKOFF end
      return enq_copy(st, mid, v, opts, lock_ms, body)
    end
    -- Done, no backoff: the next visit requeues the copy (the reference
    -- appropriates the requeue mechanism here).
    return enq_copy_ready(st, mid, v, opts, lock_ms, body)
  end
  if lock_exp > now then
    if not has_opt(opts, O_REQUEUE) then return R_LOCKED end
    return enq_copy(st, mid, v, opts, lock_ms, body)
  end
  if is_canceled(flags) then
    -- Cancelled and its handler gone: done without backoff, as its status
    -- says; the dequeue that drops it queues the copy.
    return enq_copy_ready(st, mid, v, opts, lock_ms, body)
  end

  -- Queued, with or without backoff.
  local reset = has_opt(opts, O_RESET)
  if reset then
    bo_exp = now + delay
    stage(st.delay, mid, bo_exp)
  end
  if has_opt(opts, O_UPDATE) then
    enq_set(st, mid, pack_hdr(flags, att, tok, lock_exp, bo_exp, lock_ms, first) .. body)
    return R_UPDATED
  end
  if reset then
    enq_set(st, mid, pack_hdr(flags, att, tok, lock_exp, bo_exp, own_ms, first) .. body_of(v))
    return R_UPDATED
  end
  return R_ALREADY_QUEUED
end

-- enq_flush writes the batch: k is {msgs, ready, delay, requeue, wake,
-- due}.
local function enq_flush(st, k)
  callpairs('HSET', k.msgs, st.set)
  callpairs('HSET', k.requeue, st.rq)
  if #st.delay.order > 0 then
    callpairs('ZADD', k.delay, st.delay, true)
    local min = NEVER
    for _, exp in pairs(st.delay.v) do
      if exp < min then min = exp end
    end
    -- Due before anything else (a reset delay): a waiting worker's wait
    -- ends at the old bound, so wake it to read the new one.
    if due_lower(k.due, min) then st.wake = true end
  end
  if #st.ready > 0 then callv('RPUSH', k.ready, st.ready) end
  if st.wake then wake(k.wake) end
end
