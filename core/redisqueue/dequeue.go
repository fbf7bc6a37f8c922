package redisqueue

import (
	"context"
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
)

// Dequeue runs one worker step on p.Queue in one script call: maintenance
// bounded by p.Max (expired backoffs and locks back to ready, due done
// messages requeued or garbage-collected), then up to p.Max ready messages
// locked and handed out. p.Max above 1000 is treated as 1000.
func (b *Backend) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	if err := p.Validate(); err != nil {
		return core.DequeueResult{}, err
	}
	if err := b.watch(ctx, p.Queue); err != nil {
		return core.DequeueResult{}, err
	}
	return b.dequeue(ctx, p)
}

// dequeue runs dequeue.lua with valid p.
func (b *Backend) dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	reply, err := b.run(ctx, scriptDequeue, b.dequeueKeys(p.Queue), min(p.Max, maxBatch), millis(p.Lock))
	if err != nil {
		return core.DequeueResult{}, fmt.Errorf("redisqueue: dequeue from %q: %w", p.Queue, err)
	}
	return decodeDequeue(p.Queue, reply, p.Lock)
}

// dequeueKeys are dequeue.lua's KEYS, in its order; the wake list is
// dequeueKeys(q)[wakeKey]. Shared: never written to.
func (b *Backend) dequeueKeys(queue string) []string { return b.scriptKeys(queue).dequeue }

const wakeKey = 6

// decodeDequeue decodes dequeue.lua's reply.
func decodeDequeue(queue string, reply any, lock time.Duration) (core.DequeueResult, error) {
	if nextDue, ok := reply.(int64); ok { // nothing taken
		if nextDue < 0 {
			return core.DequeueResult{Paused: true}, nil
		}
		return core.DequeueResult{NextDue: msDuration(nextDue)}, nil
	}
	a, err := replyArray(reply)
	if err != nil || len(a) < 2 || (len(a)-2)%2 != 0 {
		return core.DequeueResult{}, fmt.Errorf("redisqueue: dequeue from %q: malformed reply (%v)", queue, err)
	}
	token, err := replyInt(a[0])
	if err != nil {
		return core.DequeueResult{}, err
	}
	nextDue, err := replyInt(a[1])
	if err != nil {
		return core.DequeueResult{}, err
	}
	res := core.DequeueResult{NextDue: msDuration(nextDue)}
	if n := (len(a) - 2) / 2; n > 0 {
		res.Messages = make([]core.Delivery, 0, n)
	}
	for i := 2; i < len(a); i += 2 {
		id, v, err := replyPair(a[i:])
		if err != nil {
			return core.DequeueResult{}, err
		}
		h, m, err := decodeMessage(queue, id, v)
		if err != nil {
			// The message is locked now; it comes back when the lock
			// expires, and fails the same way. Say so loudly.
			return core.DequeueResult{}, err
		}
		m.LockDuration = lock
		if h.lockMs > 0 {
			m.LockDuration = msDuration(h.lockMs)
		}
		res.Messages = append(res.Messages, core.Delivery{Message: m, Token: uint64(token)})
	}
	return res, nil
}
