-- enqueue.lua: enqueue a batch of messages to one queue.
--
-- KEYS: 1 msgs, 2 ready, 3 delay, 4 requeue, 5 wake, 6 due; 7 (optional)
--   the call's request key (see below)
-- ARGV: 1 options, packed per message as struct '>BI6I6': opts (bits:
--   1 can-update, 2 can-requeue, 4 reset-delay), delay ms (0: none), own
--   lock ms (0: none); or empty when every message has none of them and
--   the ids are distinct (a plain batch); then two per message, in order:
--   mid, body
-- Reply: one integer per message: 1 added, 2 updated, -1 already-queued,
--   -2 locked, -3 backoff; or, for a plain batch that was all added, the
--   number of messages.

-- A client that retries a call after a network error may run it twice.
-- With a request key (unique per call), the answer of a call that applied
-- something is kept there for a minute, and a call that finds it answers
-- it again, changing nothing. (A call that applied nothing answers the
-- same when run again, and writes nothing.)
--
-- One plain message (the common single enqueue) is most likely added: on
-- Redis 7 its answer 'n1' is written ahead, in the same call that looks
-- for an earlier run's (SET NX GET: one call instead of a GET and a SET),
-- and answer() corrects or deletes it if the run answers otherwise. The
-- script runs whole, so nobody sees the record before the answer is.
local n = (#ARGV - 1) / 2
local plain = ARGV[1] == ''
local req = KEYS[7]
local held = false -- req holds 'n1', written ahead by this run
local function answer(r)
  if req then
    local s
    if type(r) ~= 'table' then
      s = 'n' .. r
    else
      for i = 1, #r do
        if r[i] > 0 then
          s = 'a' .. table.concat(r, ',')
          break
        end
      end
    end
    if s then
      if not (held and s == 'n1') then redis.call('SET', req, s, 'EX', '60') end
    elseif held then
      redis.call('DEL', req)
    end
  end
  return r
end
if req then
  local prev
  if plain and n == 1 and redis.REDIS_VERSION_NUM then -- Redis 7 and later
    prev = redis.call('SET', req, 'n1', 'NX', 'GET', 'EX', '60')
    held = not prev
  else
    prev = redis.call('GET', req)
  end
  if prev then
    if string.sub(prev, 1, 1) == 'n' then return tonumber(string.sub(prev, 2)) end
    local r = {}
    for c in string.gmatch(prev, '-?%d+') do r[#r + 1] = tonumber(c) end
    return r
  end
end

local now = now_ms()

-- The fast path, the common case: a plain batch of fresh ids. Each message
-- goes to the tail of ready with one shared header, and the answer is the
-- number of messages (all added).
if plain and n == 1 then
  -- One message: HSETNX checks and writes at once.
  if redis.call('HSETNX', KEYS[1], ARGV[2], pack_hdr(0, 0, 0, 0, 0, 0, now) .. ARGV[3]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[2])
    wake(KEYS[5])
    return answer(1)
  end
  plain = false -- it exists: the general path answers
end

local mids = {}
for i = 1, n do mids[i] = ARGV[2 * i] end
local vals
if n <= 1000 then -- as Go sends (maxBatch): no chunks, no copy of the reply
  vals = redis.call('HMGET', KEYS[1], unpack(mids))
else
  vals = hmget(KEYS[1], mids)
end

-- The values are built while checking that no id exists; one that does
-- sends the batch to the general path, which is rare.
local sets
if plain then
  local hdr = pack_hdr(0, 0, 0, 0, 0, 0, now)
  sets = {}
  for i = 1, n do
    if vals[i] then
      plain = false
      break
    end
    sets[2 * i - 1] = mids[i]
    sets[2 * i] = hdr .. ARGV[2 * i + 1]
  end
end
if plain then
  callv('HSET', KEYS[1], sets)
  callv('RPUSH', KEYS[2], mids)
  wake(KEYS[5])
  return answer(n)
end

-- @defs
local opts = ARGV[1]
if opts == '' then opts = string.rep('\0', 13 * n) end
local st = enq_begin(now, KEYS[1], mids, vals)
local res = {}
local pos = 1
for i = 1, n do
  local o, delay, lock_ms
  o, delay, lock_ms, pos = struct.unpack('>BI6I6', opts, pos)
  res[i] = enq(st, mids[i], o, delay, lock_ms, ARGV[2 * i + 1])
end
enq_flush(st, {msgs = KEYS[1], ready = KEYS[2], delay = KEYS[3],
               requeue = KEYS[4], wake = KEYS[5], due = KEYS[6]})
return answer(res)
