package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// ErrNotReplicated is matched (errors.Is) by the error of an enqueue that
// [WithReplicaAck] could not confirm: the primary applied it, but fewer
// replicas than asked acknowledged the write before the timeout. The
// messages are queued as long as that primary lives; should it fail over
// to a replica that missed them, they are gone. Enqueue them again with
// the same IDs to be sure: [core.ErrAlreadyQueued] then says a message is
// there.
var ErrNotReplicated = errors.New("applied on the primary but not confirmed replicated")

// WithReplicaAck makes every enqueue wait until at least replicas replicas
// of the queue's primary have the write, for at most timeout (Redis WAIT,
// sent in the same round trip as the enqueue script). An enqueue that
// fewer replicas confirm in time answers an error matching
// [ErrNotReplicated]. Without this option an enqueue is confirmed as soon
// as the primary applied it, and a failover (Redis Cluster or Sentinel
// promoting a replica) loses what the replica had not received yet.
//
// replicas must be at least 1 and timeout at least a millisecond and
// below the client's ReadTimeout (the reply of WAIT is read within it).
// Only enqueues wait: a lost dequeue or acknowledgement is redelivered
// (at-least-once), never lost. It works on a *redis.Client (a failover
// client too) and a *redis.ClusterClient, not on a *redis.Ring.
func WithReplicaAck(replicas int, timeout time.Duration) Option {
	return func(c *config) { c.ackReplicas, c.ackTimeout, c.ackSet = replicas, timeout, true }
}

func (c *config) validateReplicaAck(client redis.UniversalClient) error {
	if !c.ackSet {
		return nil
	}
	bad := func(format string, args ...any) error {
		return &core.InvalidError{Field: "WithReplicaAck", Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.ackReplicas < 1:
		return bad("replicas must be at least 1, got %d", c.ackReplicas)
	case c.ackTimeout < time.Millisecond:
		return bad("timeout must be at least 1ms (WAIT with 0 would block forever), got %s", c.ackTimeout)
	}
	var read time.Duration
	switch cl := client.(type) {
	case *redis.Client:
		read = cl.Options().ReadTimeout
	case *redis.ClusterClient:
		read = cl.Options().ReadTimeout
	default:
		return bad("needs a *redis.Client or *redis.ClusterClient, got %T (WAIT must follow the write on its connection)", client)
	}
	if read > 0 && c.ackTimeout >= read {
		return bad("timeout %s is not below the client's ReadTimeout %s", c.ackTimeout, read)
	}
	return nil
}

// runAcked runs script s and then WAIT on the same connection, in one
// pipeline: WAIT counts the replicas that have this connection's last
// write. On a cluster the pipeline goes to the master of keys[0] (WAIT
// has no key, so the cluster client would send it to any node). On a
// server that cannot compile the shebang it switches to the flag-less
// variants, as [Backend.run] does.
func (b *Backend) runAcked(ctx context.Context, s *luaScript, keys []string, args ...any) (any, error) {
	reply, err := b.runAckedVariant(ctx, b.variant(s), keys, args...)
	if err != nil && !b.noShebang.Load() && isShebangError(err) {
		b.noShebang.Store(true)
		reply, err = b.runAckedVariant(ctx, s.plain, keys, args...)
	}
	return reply, err
}

// runAckedVariant is runAcked with one variant of the script.
func (b *Backend) runAckedVariant(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	pipe := b.client.Pipelined
	cc, cluster := b.client.(*redis.ClusterClient)
	for attempt := 0; ; attempt++ {
		if cluster {
			node, err := cc.MasterForKey(ctx, keys[0])
			if err != nil {
				return nil, err
			}
			pipe = node.Pipelined
		}
		reply, acked, err := b.pipeWait(ctx, pipe, s, keys, args, true)
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			reply, acked, err = b.pipeWait(ctx, pipe, s, keys, args, false)
		}
		if cluster && err != nil && !errors.Is(err, context.Canceled) {
			// The node client answered, not the cluster client: tell it
			// that the layout may have changed.
			cc.ReloadState(ctx)
			if attempt < 2 && notRun(err) {
				// The slot moved (a failover or resharding) or its node
				// is gone, and the script did not run: send it again to
				// the slot's master once the layout is re-read.
				select {
				case <-time.After(100 * time.Millisecond):
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
		if err != nil {
			return reply, err
		}
		if acked < int64(b.cfg.ackReplicas) {
			return reply, fmt.Errorf("%w: %d of %d replicas acknowledged within %s", ErrNotReplicated, acked, b.cfg.ackReplicas, b.cfg.ackTimeout)
		}
		return reply, nil
	}
}

type pipelineFunc func(context.Context, func(redis.Pipeliner) error) ([]redis.Cmder, error)

// pipeWait sends EVALSHA (EVAL unless sha) and WAIT in one pipeline. A
// script error comes first; a WAIT error after the script ran is reported
// as not replicated.
func (b *Backend) pipeWait(ctx context.Context, pipe pipelineFunc, s *redis.Script, keys []string, args []any, sha bool) (any, int64, error) {
	var ev *redis.Cmd
	var wait *redis.Cmd
	_, _ = pipe(ctx, func(p redis.Pipeliner) error {
		if sha {
			ev = s.EvalSha(ctx, p, keys, args...)
		} else {
			ev = s.Eval(ctx, p, keys, args...)
		}
		wait = p.Do(ctx, "wait", b.cfg.ackReplicas, b.cfg.ackTimeout.Milliseconds())
		return nil
	})
	reply, err := ev.Result()
	if err != nil {
		return nil, 0, err
	}
	n, err := wait.Int64()
	if err != nil {
		return reply, 0, fmt.Errorf("%w: WAIT failed: %v", ErrNotReplicated, err)
	}
	return reply, n, nil
}

// notRun reports whether err says that the script did not run: the node
// answered that it no longer serves the slot, or could not be dialled.
func notRun(err error) bool {
	for _, p := range []string{"MOVED", "ASK", "CLUSTERDOWN", "READONLY", "TRYAGAIN"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
