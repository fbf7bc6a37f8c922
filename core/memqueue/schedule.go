package memqueue

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// schedKey names one schedule: its queue and its name.
type schedKey struct{ queue, name string }

// registration is one schedule in the registry.
type registration struct {
	spec    string
	next    time.Time
	expires time.Time
}

// EnqueueSlot enqueues p's message unless the schedule's last recorded
// slot is at or after p.Slot, and records the slot (see
// [core.ScheduleStore]).
func (b *Backend) EnqueueSlot(ctx context.Context, p core.SlotParams) (core.EnqueueResult, error) {
	if err := ctx.Err(); err != nil {
		return core.EnqueueResult{}, err
	}
	if err := p.Validate(b.limits); err != nil {
		return core.EnqueueResult{ID: p.Request.ID, Err: err}, err
	}
	slot := time.UnixMilli(p.Slot.UnixMilli())
	k := schedKey{p.Request.Queue, p.Schedule}
	b.mu.Lock()
	defer b.mu.Unlock()
	if last, ok := b.slots[k]; ok && !last.Before(slot) {
		return core.EnqueueResult{ID: p.Request.ID, Err: core.ErrAlreadyQueued}, core.ErrAlreadyQueued
	}
	a, err := b.enqueue(&p.Request, p.Request.ID, b.clock.Now())
	b.slots[k] = slot
	return core.EnqueueResult{ID: p.Request.ID, Action: a, Err: err}, err
}

// LastSlot is the schedule's last recorded slot, or the zero time.
func (b *Backend) LastSlot(ctx context.Context, queue, name string) (time.Time, error) {
	if err := checkCall(ctx, queue); err != nil {
		return time.Time{}, err
	}
	if err := core.ValidateScheduleName(name); err != nil {
		return time.Time{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.slots[schedKey{queue, name}], nil
}

// RegisterSchedules records infos in the registry until ttl from now.
func (b *Backend) RegisterSchedules(ctx context.Context, infos []core.ScheduleInfo, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := core.ValidateRegistration(infos, ttl); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	exp := b.clock.Now().Add(ttl)
	for _, in := range infos {
		b.registry[schedKey{in.Queue, in.Name}] = registration{spec: in.Spec, next: in.Next, expires: exp}
	}
	return nil
}

// Schedules lists the registrations that have not expired.
func (b *Backend) Schedules(ctx context.Context) ([]core.ScheduleInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	out := []core.ScheduleInfo{}
	for k, r := range b.registry {
		if !r.expires.After(now) {
			delete(b.registry, k)
			continue
		}
		out = append(out, core.ScheduleInfo{Queue: k.queue, Name: k.name, Spec: r.spec, Next: r.next, Last: b.slots[k]})
	}
	slices.SortFunc(out, func(x, y core.ScheduleInfo) int {
		return cmp.Or(cmp.Compare(x.Queue, y.Queue), cmp.Compare(x.Name, y.Name))
	})
	return out, nil
}
