package redisqueue

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// redis62 answers script calls as Redis 6.2 does for a source with a
// shebang: EVALSHA of it is unknown, EVAL of it does not compile. Scripts
// without one go through to the real server.
type redis62 struct{ refused atomic.Int64 }

// serverError is an error reply, as go-redis's own are.
type serverError string

func (e serverError) Error() string { return string(e) }
func (serverError) RedisError()     {}

func (h *redis62) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *redis62) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.refuse(cmd) {
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

// refuse sets on cmd the error Redis 6.2 answers it with, if any.
func (h *redis62) refuse(cmd redis.Cmder) bool {
	flagged := map[string]bool{}
	for _, s := range []*luaScript{scriptEnqueue, scriptDequeue, scriptAck, scriptExtend, scriptDeadRequeue, scriptSlotEnqueue} {
		flagged[s.flagged.Hash()] = true
	}
	args := cmd.Args()
	if len(args) < 2 {
		return false
	}
	src, _ := args[1].(string)
	switch {
	case cmd.Name() == "evalsha" && flagged[src]:
		cmd.SetErr(serverError("NOSCRIPT No matching script. Please use EVAL."))
	case cmd.Name() == "eval" && strings.HasPrefix(src, "#!"):
		h.refused.Add(1)
		cmd.SetErr(serverError("ERR Error compiling script (new function): user_script:1: unexpected symbol near '#' "))
	default:
		return false
	}
	return true
}

// ProcessPipelineHook answers the refused commands of a pipeline and sends
// the rest on.
func (h *redis62) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var rest []redis.Cmder
		for _, cmd := range cmds {
			if !h.refuse(cmd) {
				rest = append(rest, cmd)
			}
		}
		if len(rest) == 0 {
			return nil
		}
		return next(ctx, rest)
	}
}

// On a server that cannot compile the shebang, the first script call
// switches the Backend to flag-less scripts, and every call works.
func TestShebangFallback(t *testing.T) {
	b, c, _ := newEnv(t)
	hook := &redis62{}
	c.AddHook(hook)
	ctx := context.Background()
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "a", Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("dequeue: %+v, %v", res, err)
	}
	d := res.Messages[0]
	if errs, err := b.ExtendLocks(ctx, "q", []core.LockRef{{ID: d.ID, Token: d.Token, Duration: time.Minute}}); err != nil || errs[0] != nil {
		t.Fatalf("extend: %v %v", errs, err)
	}
	if errs, err := b.Ack(ctx, "q", []core.Ack{{ID: d.ID, Token: d.Token}}); err != nil || errs[0] != nil {
		t.Fatalf("ack: %v %v", errs, err)
	}
	if !b.noShebang.Load() || hook.refused.Load() != 1 {
		t.Errorf("switched %v after %d refusals, want after one", b.noShebang.Load(), hook.refused.Load())
	}
	if st, err := b.QueueStats(ctx, "q"); err != nil || st.Total != 0 && st.Done != st.Total {
		t.Errorf("queue %+v, %v", st, err)
	}
}

// An enqueue that waits for replicas (WithReplicaAck, one pipeline of the
// script and WAIT) switches to flag-less scripts too: a process that only
// enqueues has no other script call to do it.
func TestShebangFallbackReplicaAck(t *testing.T) {
	b, c, _ := newEnv(t, WithReplicaAck(1, 10*time.Millisecond))
	hook := &redis62{}
	c.AddHook(hook)
	ctx := context.Background()
	_, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "a", Payload: []byte("x")}})
	if !errors.Is(err, ErrNotReplicated) { // no replica here: applied, not confirmed
		t.Fatalf("enqueue answered %v, want ErrNotReplicated", err)
	}
	if st, err := b.MessageStatus(ctx, "q", "a"); err != nil || st != core.StatusQueued {
		t.Errorf("status %v, %v; want queued", st, err)
	}
	if !b.noShebang.Load() || hook.refused.Load() != 1 {
		t.Errorf("switched %v after %d refusals, want after one", b.noShebang.Load(), hook.refused.Load())
	}
}

func TestIsShebangError(t *testing.T) {
	for msg, want := range map[string]bool{
		"ERR Error compiling script (new function): user_script:1: unexpected symbol near '#' ": true,
		"ERR Error compiling script (new function): user_script:7: unexpected symbol near 'x'":  false,
		"OOM command not allowed when used memory > 'maxmemory'.":                               false,
	} {
		if got := isShebangError(errors.New(msg)); got != want {
			t.Errorf("isShebangError(%q) = %v", msg, got)
		}
	}
}
