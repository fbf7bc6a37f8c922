-- resume.lua: lift a queue's pause and wake a waiting worker if messages
-- are ready.
--
-- KEYS: 1 paused, 2 ready, 3 wake
-- ARGV: none
-- Reply: 1 if the queue was paused, else 0

local was = redis.call('DEL', KEYS[1])
if was == 1 and redis.call('LLEN', KEYS[2]) > 0 then wake(KEYS[3]) end
return was
