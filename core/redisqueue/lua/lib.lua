-- lib.lua: helpers prepended to every script of this package; not a script
-- on its own.
--
-- A message is one field of the msgs hash: mid -> header .. body. The
-- header is packed with HDR (big-endian):
--   flags     B   1: done, 2: a requeue copy is pending, 4: indexed in the
--                 lock group of its token (see below), 16: cancelled
--                 while locked (cancel.lua; 8 is the short form's byte)
--   attempts  I4  handlings of this copy
--   token     I8  lock token of the current handling (0: none)
--   lock_exp  I6  lock expiry, ms since the epoch (0: none)
--   bo_exp    I6  backoff expiry, ms (initial delay, retry or done backoff;
--                 a retry without one: the ack's time, see stats.lua)
--   lock_ms   I6  the message's own lock duration, ms (0: none)
--   first     I6  first enqueued, ms
-- A message whose fields but first are all 0 (queued, never handled, no
-- backoff or own lock: most of a backlog) has the short header SHORT
-- instead: the byte F_SHORT, then first (7 bytes, not 37, which takes it
-- down a malloc size class: about 50 bytes less per queued message).
-- pack_hdr picks the form; read headers with unpack_hdr and bodies with
-- body_of, never at a fixed offset.
-- The body (headers and payload, packed by the Go side) is opaque here.
-- Time is the server's: now_ms() reads TIME.
--
-- Lock groups. Lock expiries are indexed per dequeued batch, not per
-- message: the batch's token is one member of the locks set, scored with a
-- lower bound of its members' lock expiries, and the lockgrp hash holds,
-- per token T, the batch's mids ("\n"-joined; ids hold no control
-- characters) under T and the count of members still indexed under "#"..T;
-- its field "n" is the queue's total (QueueStats' Locked). A message is a
-- member while its header has flag 4 and token T: dequeue sets both; an
-- applied ack, or the dequeue that finds the group expired and the
-- message's own lock expired (it goes back to ready), clears the flag and
-- decrements the count; at 0 the group is deleted. A group that comes due
-- is checked member by member against the headers, which stay exact:
-- members whose lock was extended stay in the group, rescored. (A
-- heartbeat that moves expiries later changes headers only, the group's
-- score staying a lower bound; one that moves an expiry earlier lowers
-- the score.)
--
-- The due key holds a lower bound of the earliest score in the delay,
-- locks and done sets (NEVER: they are empty), so that a dequeue looks
-- into them only when something may be due. Every script that adds to
-- them lowers it (due_lower); a dequeue that finds it passed does the
-- maintenance and sets it anew. A missing key means unknown: look.
--
-- Cost notes: Redis's Lua hashes every string it creates, and formats
-- number arguments of redis.call with "%.17g"; so scripts create few long
-- strings, pack a header once per batch where they can, and pass scores as
-- strings formatted once (numstr). Every redis.call costs about 0.4 us and
-- more with arguments, TIME about 0.9 us.
--
-- Measured in instructions (callgrind, Redis 7.0), per call of a script:
-- a redis.call 4k to 6k; an array reply 0.9k to 1.4k per element (the
-- table it becomes), so MGET saves nothing over two GETs; each KEYS and
-- ARGV element 0.9k; a table reply of the script 5k (an integer 0.4k); a
-- number argument of redis.call 1.5k ("%.17g"; numstr's "%d" is less);
-- tonumber(s) 1.3k (two strtod), s + 0 half of it; a struct.unpack 0.7k
-- to 0.9k, a short string.sub 0.25k; each string a script makes or gets
-- (a reply's value, a string.sub, a concatenation) is hashed whole, about
-- 5 instructions a byte: a message's value costs that each time.

local HDR = '>BI4I8I6I6I6I6'
local HDRLEN = 37
local SHORT, SHORTLEN, F_SHORT = '>BI6', 7, 8
local F_DONE, F_RQ, F_GRP, F_CANCEL = 1, 2, 4, 16
local NEVER = 4503599627370496 -- 2^52 ms: no timer entry

-- Status codes, as core.Status.
local S_NONE, S_QUEUED, S_QUEUED_BO, S_LOCKED, S_LOCKED_RQ = 0, 1, 2, 3, 4
local S_DONE_GC, S_DONE_BO, S_DONE_RQ = 5, 6, 7

local function now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000) -- coerced: one strtod each
end

local function is_done(flags) return flags % 2 == 1 end
local function has_rq(flags) return flags % 4 >= 2 end
local function in_grp(flags) return flags % 8 >= F_GRP end
local function is_canceled(flags) return flags >= F_CANCEL end

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
  if is_canceled(flags) then -- cancelled and its handler gone: done
    if has_rq(flags) then return S_DONE_RQ end
    return S_DONE_GC
  end
  if bo_exp > now then return S_QUEUED_BO end
  return S_QUEUED
end

local function pack_hdr(flags, att, tok, lock_exp, bo_exp, lock_ms, first)
  if flags == 0 and att == 0 and tok == 0 and lock_exp == 0 and bo_exp == 0 and lock_ms == 0 then
    return struct.pack(SHORT, F_SHORT, first)
  end
  return struct.pack(HDR, flags, att, tok, lock_exp, bo_exp, lock_ms, first)
end

-- unpack_hdr answers the header fields of value v, in pack_hdr's order.
local function unpack_hdr(v)
  if string.byte(v) == F_SHORT then
    local _, first = struct.unpack(SHORT, v)
    return 0, 0, 0, 0, 0, 0, first
  end
  return struct.unpack(HDR, v)
end

local function body_of(v)
  if string.byte(v) == F_SHORT then return string.sub(v, SHORTLEN + 1) end
  return string.sub(v, HDRLEN + 1)
end

-- numstr formats an integer for redis.call once per distinct value.
local numstrs = {}
local function numstr(x)
  local s = numstrs[x]
  if not s then
    s = string.format('%d', x)
    numstrs[x] = s
  end
  return s
end

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

-- callpairs runs cmd key with the pairs of map (an ordered map made by
-- stage): field then value, or, with score_first, value then field.
local function callpairs(cmd, key, m, score_first)
  local args = {}
  for _, k in ipairs(m.order) do
    if score_first then
      args[#args + 1] = numstr(m.v[k])
      args[#args + 1] = k
    else
      args[#args + 1] = k
      args[#args + 1] = m.v[k]
    end
  end
  if #args > 0 then callv(cmd, key, args) end
end

-- An ordered map of staged writes: the last value per key wins, keys keep
-- the order of their first write (so hashes and sorted sets fill in batch
-- order).
local function omap() return {v = {}, order = {}} end
local function stage(m, k, v)
  if m.v[k] == nil then m.order[#m.order + 1] = k end
  m.v[k] = v
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

-- due_lower lowers the due bound to t (ms) if it is above it, and answers
-- whether it did.
local function due_lower(key, t)
  local lb = redis.call('GET', key)
  if lb and lb + 0 > t then
    redis.call('SET', key, numstr(t))
    return true
  end
  return false
end

-- grp_dec takes k members out of lock group t (a token string) and
-- deletes the group when none is left. The caller adjusts the total.
local function grp_dec(grp_key, locks_key, t, k)
  if redis.call('HINCRBY', grp_key, '#' .. t, numstr(-k)) <= 0 then
    redis.call('ZREM', locks_key, t)
    redis.call('HDEL', grp_key, t, '#' .. t)
  end
end

-- wake leaves one token in the wake list for a worker blocked in Wait.
local function wake(key)
  if redis.call('LLEN', key) == 0 then redis.call('RPUSH', key, '1') end
end
