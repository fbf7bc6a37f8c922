package redisqueue

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

var _ core.ScheduleStore = (*Backend)(nil)

// EnqueueSlot enqueues p's message unless the schedule's last recorded
// slot is at or after p.Slot, and records the slot, in one script call
// under the queue's hash tag (see [core.ScheduleStore]). It is not
// coalesced with other enqueues; [WithReplicaAck] applies to it.
func (b *Backend) EnqueueSlot(ctx context.Context, p core.SlotParams) (core.EnqueueResult, error) {
	if err := p.Validate(b.cfg.limits); err != nil {
		return core.EnqueueResult{ID: p.Request.ID, Err: err}, err
	}
	r := &p.Request
	packed := appendUint48(appendUint48([]byte{byte(enqueueOpts(r))}, millis(r.Delay)), millis(r.LockDuration))
	k := b.keys(r.Queue)
	keys := []string{k.msgs, k.ready, k.delay, k.requeue, k.wake, k.due, k.slots}
	args := []any{p.Schedule, p.Slot.UnixMilli(), packed, r.ID, packRequestBody(r)}
	var reply any
	var err error
	if b.cfg.ackReplicas > 0 {
		reply, err = b.runAcked(ctx, scriptSlotEnqueue, keys, args...)
	} else {
		reply, err = b.run(ctx, scriptSlotEnqueue, keys, args...)
	}
	if err == nil {
		var code int64
		if code, err = replyInt(reply); err == nil {
			res := core.EnqueueResult{ID: r.ID}
			switch code {
			case 0, -1:
				res.Err = core.ErrAlreadyQueued
			case 1:
				res.Action = core.Added
			case 2:
				res.Action = core.Updated
			case -2:
				res.Err = core.ErrLocked
			case -3:
				res.Err = core.ErrBackoff
			default:
				err = fmt.Errorf("unexpected answer %d", code)
			}
			if err == nil {
				return res, res.Err
			}
		}
	}
	err = fmt.Errorf("redisqueue: enqueue slot %s of schedule %q to %q: %w", p.Slot.Format(time.RFC3339Nano), p.Schedule, r.Queue, err)
	return core.EnqueueResult{ID: r.ID, Err: err}, err
}

// LastSlot reads the schedule's last recorded slot.
func (b *Backend) LastSlot(ctx context.Context, queue, name string) (time.Time, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return time.Time{}, err
	}
	if err := core.ValidateScheduleName(name); err != nil {
		return time.Time{}, err
	}
	ms, err := b.client.HGet(ctx, b.queuePrefix(queue)+sfxSlots, name).Int64()
	switch {
	case err == redis.Nil:
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("redisqueue: last slot of schedule %q on %q: %w", name, queue, err)
	}
	return time.UnixMilli(ms), nil
}

// RegisterSchedules records infos until ttl from now, by the server's
// clock: one script call per queue.
func (b *Backend) RegisterSchedules(ctx context.Context, infos []core.ScheduleInfo, ttl time.Duration) error {
	if err := core.ValidateRegistration(infos, ttl); err != nil {
		return err
	}
	byQueue := make(map[string][]any)
	var order []string
	for _, in := range infos {
		if _, ok := byQueue[in.Queue]; !ok {
			order = append(order, in.Queue)
			byQueue[in.Queue] = []any{millis(ttl)}
		}
		var next int64
		if !in.Next.IsZero() {
			next = max(in.Next.UnixMilli(), 0)
		}
		byQueue[in.Queue] = append(byQueue[in.Queue], in.Name, next, in.Spec)
	}
	for _, q := range order {
		if _, err := b.run(ctx, scriptSchedReg, []string{b.queuePrefix(q) + sfxSched}, byQueue[q]...); err != nil {
			return fmt.Errorf("redisqueue: register schedules of %q: %w", q, err)
		}
	}
	return nil
}

// Schedules scans for the queues that have registrations (on a cluster,
// every master) and lists the live ones.
func (b *Backend) Schedules(ctx context.Context) ([]core.ScheduleInfo, error) {
	queues, err := b.queuesWith(ctx, sfxSched)
	if err != nil {
		return nil, fmt.Errorf("redisqueue: schedules: %w", err)
	}
	out := []core.ScheduleInfo{}
	for _, q := range queues {
		k := b.keys(q)
		reply, err := b.run(ctx, scriptSchedList, []string{k.sched, k.slots})
		if err != nil {
			return nil, fmt.Errorf("redisqueue: schedules of %q: %w", q, err)
		}
		a, err := replyArray(reply)
		if err != nil || len(a)%3 != 0 {
			return nil, fmt.Errorf("redisqueue: schedules of %q: malformed reply (%v)", q, err)
		}
		for i := 0; i < len(a); i += 3 {
			name, v, err := replyPair(a[i:])
			if err != nil {
				return nil, err
			}
			last, err := replyInt(a[i+2])
			if err != nil {
				return nil, err
			}
			if len(v) < 12 {
				return nil, fmt.Errorf("redisqueue: schedule %q of %q: malformed registration", name, q)
			}
			info := core.ScheduleInfo{Queue: q, Name: name, Spec: v[12:]}
			if next := uint48(v[6:12]); next > 0 {
				info.Next = time.UnixMilli(next)
			}
			if last > 0 {
				info.Last = time.UnixMilli(last)
			}
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(x, y core.ScheduleInfo) int {
		return cmp.Or(cmp.Compare(x.Queue, y.Queue), cmp.Compare(x.Name, y.Name))
	})
	return out, nil
}
