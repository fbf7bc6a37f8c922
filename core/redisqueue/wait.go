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

// blockSlack is how late a BLPOP may time out: Redis checks the timeouts
// of blocked clients on its cron tick, every 1/hz seconds (100 ms at the
// default hz 10), so a BLPOP of 20 ms answers after up to 100 ms. Waits
// therefore block on the server until blockSlack before their end and
// sleep the rest here; an enqueue in that last stretch is seen at its end.
// A server run with hz below 10 answers later by as much.
const blockSlack = 100 * time.Millisecond

// Wait blocks on the queue's wake list until an enqueue, an ack that
// scheduled a retry sooner than anything else pending (or a dequeue that
// left work behind) pushes a token, timeout passes or ctx is done. A
// timeout answers nil; so does a wake. Each step is one BLPOP of at most a
// second (less if ctx's deadline or the client's read timeout is nearer);
// the last [blockSlack] of the wait is slept here, so that it ends within
// a few milliseconds of timeout. The local clock only bounds this wait;
// queue time is the server's.
func (b *Backend) Wait(ctx context.Context, queue string, timeout time.Duration) error {
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	if err := core.ValidateDuration("timeout", timeout); err != nil {
		return err
	}
	key := b.dequeueKeys(queue)[wakeKey]
	deadline := time.Now().Add(timeout)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		if left <= blockSlack {
			// The tail: a BLPOP would end late. Take a token that is
			// there already, else sleep it out here.
			woken, err := b.pollWake(ctx, key)
			if err != nil || woken {
				return err
			}
			if !pause(ctx, left) {
				return ctx.Err()
			}
			return nil
		}
		cmd := b.blpop(ctx, key, left-blockSlack)
		err := b.client.Process(ctx, cmd)
		b.followFailover(ctx, err)
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

// pollWake takes the wake token of key if there is one, without blocking.
func (b *Backend) pollWake(ctx context.Context, key string) (bool, error) {
	err := b.client.LPop(ctx, key).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		if cerr := ctx.Err(); cerr != nil {
			return false, cerr
		}
		return false, err
	}
}

// pause sleeps for d or until ctx is done; it answers false if ctx ended it.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// blpop makes the command for one blocking step on key: at most d, at
// most blockCap, ending no later than ctx's deadline.
func (b *Backend) blpop(ctx context.Context, key string, d time.Duration) *redis.StringSliceCmd {
	return redis.NewStringSliceCmd(ctx, "blpop", key, b.blockSecs(ctx, d))
}

// blockSecs is BLPOP's timeout argument for one blocking step: at most d,
// at most blockCap, ending no later than ctx's deadline.
func (b *Backend) blockSecs(ctx context.Context, d time.Duration) string {
	step := min(d, b.blockCap())
	if dl, ok := ctx.Deadline(); ok {
		step = min(step, time.Until(dl))
	}
	step = max(step, time.Millisecond) // BLPOP 0 would block forever
	return strconv.FormatFloat(float64(millis(step))/1000, 'f', 3, 64)
}

// WaitDequeue waits for one blocking step as Wait does, then dequeues as
// Dequeue does, the two sent as one pipeline: Redis runs the dequeue as
// soon as the BLPOP returns, woken or timed out, and both answers come
// back in one round trip. An idle worker woken by an enqueue so spends
// one round trip to get the message instead of two.
//
// The BLPOP ends [blockSlack] before p.Timeout, as the server may time it
// out that much late. A timeout of at most blockSlack (a worker waiting
// for a retry or delay that is due soon) is slept here instead, then the
// dequeue is sent: the message is taken within a few milliseconds of its
// due time, and an enqueue meanwhile waits at most that long.
func (b *Backend) WaitDequeue(ctx context.Context, p core.WaitDequeueParams) (core.DequeueResult, error) {
	if err := p.Validate(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := b.watch(ctx, p.Queue); err != nil {
		return core.DequeueResult{}, err
	}
	// From here on ctx's cancellation is ignored (its deadline still
	// bounds the BLPOP): the dequeue must not lose its answer.
	run := context.WithoutCancel(ctx)
	if p.Timeout <= blockSlack {
		// A token there already (an enqueue) ends the wait at once; a
		// failure to read it is the dequeue's to report.
		if p.Timeout > 0 {
			if woken, err := b.pollWake(ctx, b.dequeueKeys(p.Queue)[wakeKey]); err == nil && !woken {
				pause(ctx, p.Timeout) // cancellation ends the wait, not the dequeue
			}
		}
		return b.dequeue(run, p.DequeueParams)
	}
	max, lock := min(p.Max, maxBatch), millis(p.Lock)
	pipe := b.client.Pipeline()
	keys := b.dequeueKeys(p.Queue)
	wake := b.blpop(ctx, keys[wakeKey], p.Timeout-blockSlack)
	_ = pipe.Process(run, wake)
	deq := b.variant(scriptDequeue).EvalSha(run, pipe, keys, max, lock)
	_, _ = pipe.Exec(run) // each command's error is read below
	reply, err := deq.Result()
	b.followFailover(ctx, err)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis lost its scripts (a restart): load it by running it.
		reply, err = b.run(run, scriptDequeue, keys, max, lock)
	}
	if err == nil {
		// Taken messages are answered whatever the wait said.
		return decodeDequeue(p.Queue, reply, p.Lock)
	}
	if werr := wake.Err(); werr != nil && !errors.Is(werr, redis.Nil) {
		return core.DequeueResult{}, fmt.Errorf("redisqueue: wait on %q: %w", p.Queue, werr)
	}
	return core.DequeueResult{}, fmt.Errorf("redisqueue: dequeue from %q: %w", p.Queue, err)
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
