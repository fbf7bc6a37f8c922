package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// maxBlock caps one BLPOP: go-redis does not abort a blocking command when
// its context is cancelled, so Wait blocks in short steps and checks ctx
// between them.
const maxBlock = time.Second

// Wait blocks on the queue's wake list until an enqueue (or a dequeue that
// left work behind) pushes a token, timeout passes or ctx is done. A
// timeout answers nil; so does a wake. Each step is one BLPOP of at most a
// second (less if ctx's deadline or the client's read timeout is nearer).
// The local clock only bounds this wait; queue time is the server's.
func (b *Backend) Wait(ctx context.Context, queue string, timeout time.Duration) error {
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	if err := core.ValidateDuration("timeout", timeout); err != nil {
		return err
	}
	key := b.keys(queue).wake
	deadline := time.Now().Add(timeout)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Until(deadline) <= 0 {
			return nil
		}
		cmd := b.blpop(ctx, key, time.Until(deadline))
		err := b.client.Process(ctx, cmd)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, redis.Nil):
		default:
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return err
		}
	}
}

// blpop makes the command for one blocking step on key: at most d, at
// most blockCap, ending no later than ctx's deadline.
func (b *Backend) blpop(ctx context.Context, key string, d time.Duration) *redis.StringSliceCmd {
	step := min(d, b.blockCap())
	if dl, ok := ctx.Deadline(); ok {
		step = min(step, time.Until(dl))
	}
	step = max(step, time.Millisecond) // BLPOP 0 would block forever
	secs := strconv.FormatFloat(float64(millis(step))/1000, 'f', 3, 64)
	return redis.NewStringSliceCmd(ctx, "blpop", key, secs)
}

// WaitDequeue waits for one blocking step as Wait does, then dequeues as
// Dequeue does, the two sent as one pipeline: Redis runs the dequeue as
// soon as the BLPOP returns, woken or timed out, and both answers come
// back in one round trip. An idle worker woken by an enqueue so spends
// one round trip to get the message instead of two.
func (b *Backend) WaitDequeue(ctx context.Context, queue string, timeout time.Duration, max int, lock time.Duration) (core.DequeueResult, error) {
	max, err := validDequeue(queue, max, lock)
	if err != nil {
		return core.DequeueResult{}, err
	}
	if err := core.ValidateDuration("timeout", timeout); err != nil {
		return core.DequeueResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := b.watch(ctx, queue); err != nil {
		return core.DequeueResult{}, err
	}
	// From here on ctx's cancellation is ignored (its deadline still
	// bounds the BLPOP): the dequeue must not lose its answer.
	run := context.WithoutCancel(ctx)
	pipe := b.client.Pipeline()
	keys := b.dequeueKeys(queue)
	wake := b.blpop(ctx, keys[wakeKey], timeout)
	_ = pipe.Process(run, wake)
	deq := b.variant(scriptDequeue).EvalSha(run, pipe, keys, max, millis(lock))
	_, _ = pipe.Exec(run) // each command's error is read below
	reply, err := deq.Result()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis lost its scripts (a restart): load it by running it.
		reply, err = b.run(run, scriptDequeue, keys, max, millis(lock))
	}
	if err == nil {
		// Taken messages are answered whatever the wait said.
		return decodeDequeue(queue, reply, lock)
	}
	if werr := wake.Err(); werr != nil && !errors.Is(werr, redis.Nil) {
		return core.DequeueResult{}, fmt.Errorf("redisqueue: wait on %q: %w", queue, werr)
	}
	return core.DequeueResult{}, fmt.Errorf("redisqueue: dequeue from %q: %w", queue, err)
}

// blockCap is the longest single BLPOP: maxBlock, or less when the
// client's read timeout would cut it off.
func (b *Backend) blockCap() time.Duration {
	var rt time.Duration
	switch c := b.client.(type) {
	case *redis.Client:
		rt = c.Options().ReadTimeout
	case *redis.ClusterClient:
		rt = c.Options().ReadTimeout
	case *redis.Ring:
		rt = c.Options().ReadTimeout
	}
	if rt > 0 && rt < 2*maxBlock {
		return max(rt/2, time.Millisecond)
	}
	return maxBlock
}
