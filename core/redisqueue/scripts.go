package redisqueue

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// Every script is lib.lua (and, for those that enqueue, lib_enqueue.lua)
// followed by its own file. redis.Script runs EVALSHA and falls back to
// EVAL when the server does not have the script yet.
var (
	scriptEnqueue     = newScript("lib.lua", "lib_enqueue.lua", "enqueue.lua")
	scriptDequeue     = newScript("lib.lua", "dequeue.lua")
	scriptAck         = newScript("lib.lua", "ack.lua")
	scriptExtend      = newScript("lib.lua", "extend.lua")
	scriptStatus      = newScript("lib.lua", "status.lua")
	scriptContent     = newScript("lib.lua", "content.lua")
	scriptDeadList    = newScript("lib.lua", "dead_list.lua")
	scriptDeadRequeue = newScript("lib.lua", "lib_enqueue.lua", "dead_requeue.lua")
)

func newScript(files ...string) *redis.Script { return redis.NewScript(newScriptSource(files...)) }

func newScriptSource(files ...string) string {
	var src strings.Builder
	for _, f := range files {
		b, err := luaFiles.ReadFile("lua/" + f)
		if err != nil {
			panic(err) // embedded: cannot happen unless the build is broken
		}
		src.Write(b)
		src.WriteByte('\n')
	}
	return src.String()
}

// run runs script s and answers its reply.
func (b *Backend) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	return s.Run(ctx, b.client, keys, args...).Result()
}

// Reply decoding. Scripts answer arrays of integers and bulk strings.

func replyArray(v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("redisqueue: unexpected script reply %T", v)
	}
	return a, nil
}

func replyInt(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redisqueue: unexpected script reply %T, want an integer", v)
	}
	return n, nil
}

func replyString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("redisqueue: unexpected script reply %T, want a string", v)
	}
	return s, nil
}

// replyInts decodes an array of n integers.
func replyInts(v any, n int) ([]int64, error) {
	a, err := replyArray(v)
	if err != nil {
		return nil, err
	}
	if len(a) != n {
		return nil, fmt.Errorf("redisqueue: script answered %d entries for %d", len(a), n)
	}
	out := make([]int64, n)
	for i, e := range a {
		if out[i], err = replyInt(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replyPair decodes two strings (an id and a stored value).
func replyPair(a []any) (id, v string, err error) {
	if id, err = replyString(a[0]); err != nil {
		return
	}
	v, err = replyString(a[1])
	return
}
