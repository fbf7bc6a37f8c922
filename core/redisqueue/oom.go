package redisqueue

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A full Redis (maxmemory with the noeviction policy) must still let the
// queue drain: acks, lock heartbeats and dequeues free or move data, and a
// worker that cannot run them stops the queue for good. Redis 7 reads a
// script's flags from a shebang line: a script flagged allow-oom runs when
// used memory is over maxmemory (and so may its writes), one with a
// shebang and no such flag is refused whole before it runs. So:
//
//	allow-oom  dequeue, ack, extend: they free memory (acks delete done
//	           messages, the dequeue garbage-collects) or only rewrite
//	           headers, and the queue drains through them
//	refused    enqueue, dead-letter requeue: they add messages; a full
//	           Redis answers them with an OOM error, nothing applied
//	no shebang the read-only scripts (status, content, dead-letter
//	           list), which Redis runs in any case
//
// Redis 6.2 knows no shebang: "#!" does not compile there. The first
// script call that answers that compile error switches the Backend to
// flag-less variants for good (see [Backend.run]); 6.2 then behaves as it
// always did: a full Redis refuses a script's first write that may grow
// memory, and a queue whose acks write can stall until memory is freed by
// hand. Use Redis 7 where memory may fill up.
const (
	shebangAllowOOM = "#!lua flags=allow-oom\n"
	shebangDenyOOM  = "#!lua\n"
)

// luaScript is one script in two variants: with its Redis 7 shebang, and
// without it for Redis 6.2.
type luaScript struct {
	flagged *redis.Script
	plain   *redis.Script
	src     string // the flagged source
}

// newScript builds a script from its files (see newScriptSource); shebang
// is one of the shebang constants, or "" for none.
func newScript(shebang string, files ...string) *luaScript {
	body := newScriptSource(files...)
	return &luaScript{flagged: redis.NewScript(shebang + body), plain: redis.NewScript(body), src: shebang + body}
}

// Hash is the SHA1 of the flagged source, as EVALSHA sends it.
func (s *luaScript) Hash() string { return s.flagged.Hash() }

// variant answers the script the server understands.
func (b *Backend) variant(s *luaScript) *redis.Script {
	if b.noShebang.Load() {
		return s.plain
	}
	return s.flagged
}

// run runs script s and answers its reply. On a server that cannot
// compile the shebang (before Redis 7) it switches to the flag-less
// variants and runs s again: the failed call compiled nothing, so it
// applied nothing.
func (b *Backend) run(ctx context.Context, s *luaScript, keys []string, args ...any) (any, error) {
	reply, err := b.variant(s).Run(ctx, b.client, keys, args...).Result()
	if err != nil && !b.noShebang.Load() && isShebangError(err) {
		b.noShebang.Store(true)
		reply, err = s.plain.Run(ctx, b.client, keys, args...).Result()
	}
	b.followFailover(ctx, err)
	return reply, err
}

// isShebangError tells whether err is a pre-7 server's compile error on
// the shebang line: "Error compiling script (new function):
// user_script:1: unexpected symbol near '#'".
func isShebangError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Error compiling script") && strings.Contains(msg, ":1:") && strings.Contains(msg, "'#'")
}
