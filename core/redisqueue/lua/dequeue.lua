-- dequeue.lua: one worker step on one queue: maintenance, then take and
-- lock up to max ready messages.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 locks, 5 done, 6 requeue, 7 wake, 8 seq
-- ARGV: 1 max, 2 default lock ms
-- Reply: {token, next_due_ms, mid1, value1, mid2, value2, ...}
--   token: the lock token of every message taken (0 if none was taken);
--   next_due_ms: ms until the earliest delayed, locked or done entry is due
--   (0: none); value: the stored value (header .. body) after locking,
--   from which the caller reads attempts, own lock duration, first
--   enqueued and the body.
--
-- Maintenance, each bounded by max: ids whose lock or backoff expired go
-- from locks and delay to the tail of ready; due done ids are requeued
-- (pending copy) or garbage-collected. Then ids are popped from ready and
-- handled by status; only queued ones are locked.

local K_MSGS, K_READY, K_DELAY, K_LOCKS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_DONE, K_RQ, K_WAKE, K_SEQ = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local max = tonumber(ARGV[1])
local default_lock = tonumber(ARGV[2])
local now = now_ms()

-- cur caches values this call wrote (false: deleted), over what HMGET read.
local cur = {}
local function value(mid, read)
  local v = cur[mid]
  if v == nil then return read end
  return v
end

-- Due entries of a sorted set: the first (lowest) ones, score <= now, at
-- most max, removed from the set.
local function take_due(key)
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, max)
  if #ids > 0 then redis.call('ZREMRANGEBYRANK', key, 0, #ids - 1) end
  return ids
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
      return
    end
  end
  redis.call('HDEL', K_MSGS, mid)
  redis.call('HDEL', K_RQ, mid)
  cur[mid] = false
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

-- 1. Expired locks and backoffs: back to ready (the status check on the
--    way out of ready decides what happens).
local ids = take_due(K_LOCKS)
if #ids > 0 then callv('RPUSH', K_READY, ids) end
ids = take_due(K_DELAY)
if #ids > 0 then callv('RPUSH', K_READY, ids) end

-- 2. Due done messages: requeue or gc.
ids = take_due(K_DONE)
if #ids > 0 then
  local vals = hmget(K_MSGS, ids)
  for i = 1, #ids do
    local v = value(ids[i], vals[i])
    if v then
      local flags = struct.unpack(HDR, v)
      if is_done(flags) then finish_done(ids[i], flags) end
    end
  end
end

-- 3. Take from ready.
local out = {0, 0}
local taken = 0
local sets, lockz = {}, {}
local token = 0
local budget = max * 4 -- bounds the skips per call
while taken < max and budget > 0 do
  local want = math.min(max - taken, budget)
  ids = redis.call('LPOP', K_READY, want)
  if not ids then break end
  budget = budget - #ids
  local vals = hmget(K_MSGS, ids)
  for i = 1, #ids do
    local mid = ids[i]
    local v = value(mid, vals[i])
    if v then
      local flags, att, tok, lock_exp, bo_exp, lock_ms, first = struct.unpack(HDR, v)
      if is_done(flags) then
        if bo_exp > now then
          redis.call('ZADD', K_DONE, numstr(bo_exp), mid) -- held: keep it findable
        else
          redis.call('ZREM', K_DONE, mid)
          finish_done(mid, flags)
        end
      elseif lock_exp > now then
        redis.call('ZADD', K_LOCKS, numstr(lock_exp), mid) -- taken: keep it findable
      elseif bo_exp > now then
        redis.call('ZADD', K_DELAY, numstr(bo_exp), mid)
      else
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
        local l = lock_ms
        if l == 0 then l = default_lock end
        local nv = locked_hdr(flags, att + 1, token, now + l, lock_ms, first) .. body_of(v)
        cur[mid] = nv
        taken = taken + 1
        out[#out + 1] = mid
        out[#out + 1] = nv
        sets[#sets + 1] = mid
        sets[#sets + 1] = nv
        lockz[#lockz + 1] = numstr(now + l)
        lockz[#lockz + 1] = mid
      end
    end
  end
end

if taken > 0 then
  callv('HSET', K_MSGS, sets)
  lock_index(K_LOCKS, lockz)
end

-- Chain-wake: another waiting worker may take what is left.
if redis.call('LLEN', K_READY) > 0 then wake(K_WAKE) end

-- 4. When is the next entry due?
local next_due = 0
for _, k in ipairs({K_DELAY, K_LOCKS, K_DONE}) do
  local e = redis.call('ZRANGEBYSCORE', k, '-inf', '(+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if e[2] then
    local d = tonumber(e[2]) - now
    if d < 1 then d = 1 end
    if next_due == 0 or d < next_due then next_due = d end
  end
end

out[1] = token
out[2] = next_due
return out
