package redisqueue

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// A dead letter is stored as (see lua/ack.lua): attempts u32, failed-at ms
// u48, own lock ms u48, error length u32, the error text, then the body.
const deadHeaderLen = 20

// requeueChunk bounds the ids of one dead_requeue.lua call.
const requeueChunk = 500

// DeadLetters lists up to limit dead letters of queue, newest first,
// skipping offset; at most 1000 per call.
func (b *Backend) DeadLetters(ctx context.Context, queue string, offset, limit int) ([]core.DeadLetter, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &core.InvalidError{Field: "offset", Reason: fmt.Sprintf("negative (%d)", offset)}
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	k := b.keys(queue)
	reply, err := b.run(ctx, scriptDeadList, []string{k.dead, k.deadidx}, offset, limit)
	if err != nil {
		return nil, fmt.Errorf("redisqueue: dead letters of %q: %w", queue, err)
	}
	a, err := replyArray(reply)
	if err != nil || len(a)%2 != 0 {
		return nil, fmt.Errorf("redisqueue: dead letters of %q: malformed reply (%v)", queue, err)
	}
	out := make([]core.DeadLetter, 0, len(a)/2)
	for i := 0; i < len(a); i += 2 {
		id, err := replyString(a[i])
		if err != nil {
			return nil, err
		}
		e, err := replyString(a[i+1])
		if err != nil {
			return nil, err
		}
		d, err := decodeDeadLetter(queue, id, e)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func decodeDeadLetter(queue, id, e string) (core.DeadLetter, error) {
	bad := fmt.Errorf("redisqueue: corrupt dead letter %q in queue %q", id, queue)
	if len(e) < deadHeaderLen {
		return core.DeadLetter{}, bad
	}
	errLen := int(binary.BigEndian.Uint32([]byte(e[16:20])))
	if errLen > len(e)-deadHeaderLen {
		return core.DeadLetter{}, bad
	}
	_, _, body, err := cutLimits(e[deadHeaderLen+errLen:])
	if err != nil {
		return core.DeadLetter{}, bad
	}
	headers, payload, err := unpackBody(body)
	if err != nil {
		return core.DeadLetter{}, bad
	}
	return core.DeadLetter{
		ID:       id,
		Queue:    queue,
		Payload:  payload,
		Headers:  headers,
		Attempt:  int(binary.BigEndian.Uint32([]byte(e[0:4]))),
		Error:    e[deadHeaderLen : deadHeaderLen+errLen],
		FailedAt: time.UnixMilli(uint48(e[4:10])),
	}, nil
}

// RequeueDeadLetters enqueues the named dead letters (all when ids is
// empty) again through the enqueue path, as fresh messages with attempt 0
// and their headers and own lock duration, and drops them from the list.
// One whose id the enqueue refuses (it is live in the queue) stays.
func (b *Backend) RequeueDeadLetters(ctx context.Context, queue string, ids ...string) (int, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := core.ValidateID(id); err != nil {
			return 0, err
		}
	}
	k := b.keys(queue)
	if len(ids) == 0 {
		all, err := b.client.ZRange(ctx, k.deadidx, 0, -1).Result()
		if err != nil {
			return 0, fmt.Errorf("redisqueue: requeue dead letters of %q: %w", queue, err)
		}
		ids = all
	}
	keys := []string{k.msgs, k.ready, k.delay, k.requeue, k.wake, k.dead, k.deadidx, k.due}
	total := 0
	for len(ids) > 0 {
		n := min(len(ids), requeueChunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		reply, err := b.run(ctx, scriptDeadRequeue, keys, args...)
		if err != nil {
			return total, fmt.Errorf("redisqueue: requeue dead letters of %q: %w", queue, err)
		}
		c, err := replyInt(reply)
		if err != nil {
			return total, err
		}
		total += int(c)
	}
	return total, nil
}

// PurgeDeadLetters empties the queue's dead-letter list atomically and
// answers how many entries it held.
func (b *Backend) PurgeDeadLetters(ctx context.Context, queue string) (int, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return 0, err
	}
	k := b.keys(queue)
	var n *redis.IntCmd
	_, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.ZCard(ctx, k.deadidx)
		p.Del(ctx, k.dead, k.deadidx)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redisqueue: purge dead letters of %q: %w", queue, err)
	}
	return int(n.Val()), nil
}
