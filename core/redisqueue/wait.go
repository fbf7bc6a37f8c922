package redisqueue

import (
	"context"
	"errors"
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
	stepCap := b.blockCap()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		step := time.Until(deadline)
		if step <= 0 {
			return nil
		}
		step = min(step, stepCap)
		if dl, ok := ctx.Deadline(); ok {
			step = min(step, time.Until(dl))
		}
		step = max(step, time.Millisecond) // BLPOP 0 would block forever
		secs := strconv.FormatFloat(float64(millis(step))/1000, 'f', 3, 64)
		cmd := redis.NewStringSliceCmd(ctx, "blpop", key, secs)
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
