package redisqueue

import (
	"context"
	"fmt"

	"github.com/redghost/redghost/core"
)

// DeadLettersByID answers the dead letters of queue among ids, in the
// order of ids; an id with no dead letter is left out (and so is a
// repeat). It reads only the named entries, whatever the length of the
// list, in one HMGET per 500 ids.
func (b *Backend) DeadLettersByID(ctx context.Context, queue string, ids ...string) ([]core.DeadLetter, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := core.ValidateID(id); err != nil {
			return nil, err
		}
	}
	k := b.keys(queue)
	seen := make(map[string]bool, len(ids))
	var out []core.DeadLetter
	for len(ids) > 0 {
		n := min(len(ids), requeueChunk)
		chunk := ids[:n]
		ids = ids[n:]
		vals, err := b.client.HMGet(ctx, k.dead, chunk...).Result()
		if err != nil {
			return nil, fmt.Errorf("redisqueue: dead letters of %q by id: %w", queue, err)
		}
		for i, v := range vals {
			e, ok := v.(string)
			if !ok || seen[chunk[i]] {
				continue
			}
			seen[chunk[i]] = true
			d, err := decodeDeadLetter(queue, chunk[i], e)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}
