package redisqueue

import (
	"context"
	"fmt"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/text"
)

// maxErrorBytes bounds the error text kept with a dead letter, also for
// callers of Ack other than core's worker.
const maxErrorBytes = core.MaxErrorBytes

// Ack applies the outcomes in one script call (more when the batch is very
// large or names an id twice: each call's ids are distinct, applied in
// order). An ack whose token no longer owns the message answers
// [core.ErrLockLost] and changes nothing; an invalid one answers an
// [*core.InvalidError] and is not sent.
func (b *Backend) Ack(ctx context.Context, queue string, acks []core.Ack) ([]error, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return nil, err
	}
	errs := make([]error, len(acks))
	valid := make([]int, 0, len(acks))
	for i := range acks {
		if err := core.ValidateAck(&acks[i]); err != nil {
			errs[i] = err
			continue
		}
		valid = append(valid, i)
	}
	keys := b.scriptKeys(queue).ack
	for _, call := range distinctCalls(valid, func(i int) string { return acks[i].ID }) {
		packed := make([]byte, 0, 15*len(call))
		args := make([]any, 2, 2+len(call))
		var errTexts []any
		for _, i := range call {
			a := &acks[i]
			packed = appendUint64(packed, a.Token)
			packed = append(packed, byte(a.Outcome))
			packed = appendUint48(packed, millis(a.Backoff))
			args = append(args, a.ID)
			if a.Outcome == core.OutcomeError {
				errTexts = append(errTexts, text.TruncateUTF8(a.Error, maxErrorBytes))
			}
		}
		args[0], args[1] = b.cfg.deadLimit, packed
		args = append(args, errTexts...)
		reply, err := b.run(ctx, scriptAck, keys, args...)
		if err != nil {
			return nil, fmt.Errorf("redisqueue: ack on %q: %w", queue, err)
		}
		if all, ok := reply.(int64); ok && all == int64(len(call)) {
			continue // every ack applied
		}
		if err := markLost(errs, call, reply); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// ExtendLocks extends each lock to now + its duration (by the server's
// clock) in one script call (more when the batch is very large or names an
// id twice).
func (b *Backend) ExtendLocks(ctx context.Context, queue string, locks []core.LockRef) ([]error, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return nil, err
	}
	errs := make([]error, len(locks))
	valid := make([]int, 0, len(locks))
	for i := range locks {
		err := core.ValidateID(locks[i].ID)
		if err == nil {
			err = core.ValidateLock(locks[i].Duration)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		valid = append(valid, i)
	}
	_ = b.watch(ctx, queue) // a heartbeat checks the store too, and is never refused
	keys := b.scriptKeys(queue).extend
	for _, call := range distinctCalls(valid, func(i int) string { return locks[i].ID }) {
		packed := make([]byte, 0, 14*len(call))
		args := make([]any, 1, 1+len(call))
		for _, i := range call {
			l := &locks[i]
			packed = appendUint64(packed, l.Token)
			packed = appendUint48(packed, millis(l.Duration))
			args = append(args, l.ID)
		}
		args[0] = packed
		reply, err := b.run(ctx, scriptExtend, keys, args...)
		if err != nil {
			return nil, fmt.Errorf("redisqueue: extend locks on %q: %w", queue, err)
		}
		if err := markLost(errs, call, reply); err != nil {
			return nil, err
		}
	}
	return errs, nil
}

// markLost reads a script's per-entry codes for call (1: applied; 2:
// extended, but the message was cancelled) and answers core.ErrLockLost in
// errs for every entry the fence refused, core.ErrCanceled for every
// cancelled one.
func markLost(errs []error, call []int, reply any) error {
	codes, err := replyInts(reply, len(call))
	if err != nil {
		return err
	}
	for j, i := range call {
		switch codes[j] {
		case 1:
		case 2:
			errs[i] = core.ErrCanceled
		default:
			errs[i] = core.ErrLockLost
		}
	}
	return nil
}

// distinctCalls splits idx, in order, into calls of at most maxBatch
// entries whose ids are distinct: a repeated id starts a new call, so that
// it sees the effect of the earlier one.
func distinctCalls(idx []int, id func(int) string) [][]int {
	switch len(idx) {
	case 0:
		return nil
	case 1: // one ack or heartbeat, the common call: nothing to compare
		return [][]int{idx}
	}
	// Each call is a run of idx: sliced from it, not copied.
	var calls [][]int
	start := 0
	seen := make(map[string]struct{}, min(len(idx), maxBatch))
	for j, i := range idx {
		_, dup := seen[id(i)]
		if dup || j-start == maxBatch {
			calls = append(calls, idx[start:j:j])
			start = j
			clear(seen)
		}
		seen[id(i)] = struct{}{}
	}
	return append(calls, idx[start:])
}
