-- lib.lua: helpers prepended to every script of this package; not a script
-- on its own.
--
-- A message is one field of the msgs hash: mid -> header .. body. The header
-- is packed with HDR (big-endian):
--   flags     B   1: done, 2: a requeue copy is pending (both: 3)
--   attempts  I4  handlings of this copy
--   token     I8  lock token of the current handling (0: none)
--   lock_exp  I6  lock expiry, ms since the epoch (0: none)
--   bo_exp    I6  backoff expiry, ms (initial delay, retry or done backoff)
--   lock_ms   I6  the message's own lock duration, ms (0: none)
--   first     I6  first enqueued, ms
-- The body (headers and payload, packed by the Go side) is opaque here.
-- Time is the server's: now_ms() reads TIME.

local HDR = '>BI4I8I6I6I6I6'
local HDRLEN = 37

-- Status codes, as core.Status.
local S_NONE, S_QUEUED, S_QUEUED_BO, S_LOCKED, S_LOCKED_RQ = 0, 1, 2, 3, 4
local S_DONE_GC, S_DONE_BO, S_DONE_RQ = 5, 6, 7

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_done(flags) return flags % 2 == 1 end
local function has_rq(flags) return flags >= 2 end

-- status derives a message's status from its header (SEMANTICS.md §2).
local function status(flags, lock_exp, bo_exp, now)
  if is_done(flags) then
    if has_rq(flags) then return S_DONE_RQ end
    if bo_exp > now then return S_DONE_BO end
    return S_DONE_GC
  end
  if lock_exp > now then
    if has_rq(flags) then return S_LOCKED_RQ end
    return S_LOCKED
  end
  if bo_exp > now then return S_QUEUED_BO end
  return S_QUEUED
end

-- pack_msg builds a stored value from header fields and a body.
local function pack_msg(flags, att, tok, lock_exp, bo_exp, lock_ms, first, body)
  return struct.pack(HDR, flags, att, tok, lock_exp, bo_exp, lock_ms, first) .. body
end

local function body_of(v) return string.sub(v, HDRLEN + 1) end

-- callv runs cmd key args... in chunks, so that long argument lists stay
-- below Lua's stack limit. Chunks are even, so field/value and score/member
-- pairs stay together.
local function callv(cmd, key, args)
  local n = #args
  local i = 1
  while i <= n do
    local j = math.min(i + 999, n)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end

-- hmget reads many fields (in chunks); a missing field is false.
local function hmget(key, fields)
  local out = {}
  local n = #fields
  local i = 1
  while i <= n do
    local j = math.min(i + 999, n)
    local r = redis.call('HMGET', key, unpack(fields, i, j))
    for k = 1, #r do out[i + k - 1] = r[k] end
    i = j + 1
  end
  return out
end

-- wake leaves one token in the wake list for a worker blocked in Wait.
local function wake(key)
  if redis.call('LLEN', key) == 0 then redis.call('RPUSH', key, 1) end
end
