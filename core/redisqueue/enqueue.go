package redisqueue

import (
	"context"
	"fmt"

	"github.com/redghost/redghost/core"
)

// Batch bounds of one script call.
const (
	maxBatch      = 1000
	maxBatchBytes = 16 << 20 // bodies of one enqueue call
)

// Enqueue option bits, as lua/lib_enqueue.lua reads them.
const (
	optUpdate  = 1
	optRequeue = 2
	optReset   = 4
)

// enqueueChunk is one script call's worth of requests of one queue.
type enqueueChunk struct {
	queue string
	idx   []int  // indexes into the request slice
	opts  []byte // per request: opts u8, delay ms u48, own lock ms u48
	// args are the script's ARGV: a slot for the options (runEnqueue
	// fills it), then mid, body per request.
	args  []any
	bytes int
	// plain: no request has options, a delay or an own lock, and the ids
	// are distinct (lua/enqueue.lua's fast path).
	plain bool
	ids   map[string]struct{} // while plain, from the second request on
	hint  int                 // the chunk's likely size, to size its slices and ids
}

// enqueueOpts are the option bits of r, as enqueue.lua reads them.
func enqueueOpts(r *core.EnqueueRequest) int {
	var opts int
	if r.CanUpdate {
		opts |= optUpdate
	}
	if r.CanRequeue {
		opts |= optRequeue
	}
	if r.ResetDelay {
		opts |= optReset
	}
	return opts
}

// add appends request r (with its id set) and its packed body.
func (c *enqueueChunk) add(i int, r *core.EnqueueRequest, body []byte) {
	if c.args == nil {
		c.idx = make([]int, 0, c.hint)
		c.opts = make([]byte, 0, 13*c.hint)
		c.args = make([]any, 1, 1+2*c.hint)
	}
	opts := enqueueOpts(r)
	delay, lock := millis(r.Delay), millis(r.LockDuration)
	if c.plain && (opts != 0 || delay != 0 || lock != 0) {
		c.plain, c.ids = false, nil
	}
	if c.plain && len(c.idx) > 0 {
		if c.ids == nil {
			c.ids = make(map[string]struct{}, c.hint)
			c.ids[c.args[1].(string)] = struct{}{}
		}
		if _, dup := c.ids[r.ID]; dup {
			c.plain, c.ids = false, nil
		} else {
			c.ids[r.ID] = struct{}{}
		}
	}
	c.idx = append(c.idx, i)
	c.bytes += len(body)
	c.opts = append(c.opts, byte(opts))
	c.opts = appendUint48(c.opts, delay)
	c.opts = appendUint48(c.opts, lock)
	c.args = append(c.args, r.ID, body)
}

// Enqueue enqueues the batch with one script call per queue (more for
// very large batches). Calls from concurrent goroutines to the same queue
// are coalesced into shared script calls (see coalesce.go); each still
// gets exactly its own answers. Invalid requests are answered with an
// [*core.InvalidError] and not sent; the rest go ahead. If every call
// fails, Enqueue answers the error and nil results; if only some fail, the
// requests of those calls carry the error in their results.
func (b *Backend) Enqueue(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	results := make([]core.EnqueueResult, len(reqs))
	var chunks []*enqueueChunk
	// The queue's chunk being filled: last, for the common call whose
	// requests all name one queue; open once a second queue shows up.
	var last *enqueueChunk
	var open map[string]*enqueueChunk
	for i := range reqs {
		r := reqs[i]
		if r.ID == "" {
			r.ID = core.NewID()
		}
		if err := b.cfg.limits.Validate(&r); err != nil {
			// Refused: the caller's id (or none), never a fresh one that
			// names nothing.
			results[i].ID, results[i].Err = reqs[i].ID, err
			continue
		}
		results[i].ID = r.ID
		body := packRequestBody(&r)
		c := last
		if c == nil || c.queue != r.Queue {
			if open == nil && last != nil {
				open = map[string]*enqueueChunk{last.queue: last}
			}
			c = open[r.Queue]
		}
		if c == nil || len(c.idx) == maxBatch || c.bytes+len(body) > maxBatchBytes {
			c = &enqueueChunk{queue: r.Queue, plain: true}
			if open == nil {
				// Every request so far names this queue: likely the rest
				// do too. (Once a second queue shows up, chunks grow as
				// they fill: the rest may be spread over many.)
				c.hint = min(len(reqs)-i, maxBatch)
			} else {
				open[r.Queue] = c
			}
			chunks = append(chunks, c)
		}
		last = c
		c.add(i, &r, body)
	}

	for _, c := range chunks {
		if err := b.watch(ctx, c.queue); err != nil {
			return nil, err
		}
	}
	var firstErr error
	failed := 0
	for _, c := range chunks {
		codes, err := b.sendChunk(ctx, c)
		if err == nil {
			err = decodeCodes(c, codes, results)
		}
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			for _, i := range c.idx {
				results[i].Err = err
			}
		}
	}
	if failed > 0 && failed == len(chunks) {
		return nil, firstErr
	}
	return results, nil
}

// decodeCodes writes the script's answers for chunk c into results.
func decodeCodes(c *enqueueChunk, codes []int64, results []core.EnqueueResult) error {
	if len(codes) != len(c.idx) {
		return fmt.Errorf("redisqueue: enqueue to %q: %d answers for %d messages", c.queue, len(codes), len(c.idx))
	}
	for j, i := range c.idx {
		switch codes[j] {
		case 1:
			results[i].Action = core.Added
		case 2:
			results[i].Action = core.Updated
		case -1:
			results[i].Err = core.ErrAlreadyQueued
		case -2:
			results[i].Err = core.ErrLocked
		case -3:
			results[i].Err = core.ErrBackoff
		default:
			results[i].Err = fmt.Errorf("redisqueue: enqueue to %q: unexpected answer %d", c.queue, codes[j])
		}
	}
	return nil
}
