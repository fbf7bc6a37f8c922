package schedule

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redghost/redghost/core"
)

// Backoff of the retries of a failing backend.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 30 * time.Second
)

// Run enqueues the schedules' slots as they come due, until ctx is done;
// then it answers nil. A scheduler runs once: a second Run answers
// [core.ErrStarted].
//
// At start, each schedule resumes after the last slot any scheduler
// enqueued (see [WithCatchUp] for the slots missed meanwhile). A slot is
// due when the scheduler's clock reaches it; a slot that another
// scheduler enqueued first is refused by the backend and skipped. Calls
// that fail (the backend is down) are logged and retried with backoff; a
// slot whose message the backend refuses as invalid (a payload over its
// limits) is logged at Error level and skipped.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return core.ErrStarted
	}
	s.running = true
	s.mu.Unlock()

	retry := minRetry
	for _, e := range s.entries {
		for {
			last, err := s.store.LastSlot(ctx, e.queue, e.name)
			if err == nil {
				e.cursor = last
				if last.IsZero() {
					e.cursor = s.clock.Now()
				}
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			s.log.WarnContext(ctx, "redghost schedule: reading the last slot failed, retrying",
				slog.String("queue", e.queue), slog.String("schedule", e.name), slog.Any("error", err))
			if !s.sleep(ctx, retry) {
				return nil
			}
			retry = min(2*retry, maxRetry)
		}
	}

	var nextReg time.Time // zero: register now
	retry = minRetry
	for {
		now := s.clock.Now()
		failed := false
		for _, e := range s.entries {
			if err := s.fire(ctx, e, now); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failed = true
				s.log.WarnContext(ctx, "redghost schedule: enqueue failed, retrying",
					slog.String("queue", e.queue), slog.String("schedule", e.name), slog.Any("error", err))
			}
		}
		if !now.Before(nextReg) {
			if err := s.register(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.WarnContext(ctx, "redghost schedule: registering schedules failed", slog.Any("error", err))
			}
			nextReg = now.Add(s.ttl / 3)
		}
		wake := nextReg
		for _, e := range s.entries {
			if n := e.table.next(e.cursor); !n.IsZero() && n.Before(wake) {
				wake = n
			}
		}
		if failed {
			wake = now.Add(retry)
			retry = min(2*retry, maxRetry)
		} else {
			retry = minRetry
		}
		if !s.sleep(ctx, wake.Sub(s.clock.Now())) {
			return nil
		}
	}
}

// fire enqueues e's slots due by now, as its catch-up policy says. It
// stops at the first failure, leaving the cursor before the failed slot.
func (s *Scheduler) fire(ctx context.Context, e *entry, now time.Time) error {
	for _, slot := range latestDue(e.table, e.cursor, now, e.catchUp+1) {
		opts := append(e.enqOpts[:len(e.enqOpts):len(e.enqOpts)],
			core.WithID(SlotID(e.name, slot)),
			core.WithHeader(SlotHeader, slot.UTC().Format(time.RFC3339Nano)),
			core.WithHeader(ScheduleHeader, e.name))
		sctx := context.WithValue(ctx, slotKey{}, slotCall{name: e.name, slot: slot})
		_, err := s.pub.Publish(sctx, e.queue, e.payload, opts...)
		switch {
		case errors.Is(err, core.ErrInvalid):
			// The same message would be refused again: no retry.
			s.log.ErrorContext(ctx, "redghost schedule: the slot's message is invalid, skipped",
				slog.String("queue", e.queue), slog.String("schedule", e.name), slog.Time("slot", slot), slog.Any("error", err))
		case err != nil && !core.IsRefusal(err):
			return err
		}
		e.cursor = slot
	}
	return nil
}

// register refreshes the registrations of the scheduler's schedules.
func (s *Scheduler) register(ctx context.Context) error {
	infos := make([]core.ScheduleInfo, len(s.entries))
	for i, e := range s.entries {
		infos[i] = core.ScheduleInfo{Queue: e.queue, Name: e.name, Spec: e.spec, Next: e.table.next(e.cursor)}
	}
	return s.store.RegisterSchedules(ctx, infos, s.ttl)
}

// timerClock is a clock with timers of its own (queuetest.ManualClock).
type timerClock interface {
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// sleep waits d on the scheduler's clock; it answers false if ctx ended
// first.
func (s *Scheduler) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	ch := make(chan struct{})
	var stop func() bool
	if c, ok := s.clock.(timerClock); ok {
		stop = c.AfterFunc(d, func() { close(ch) })
	} else {
		stop = time.AfterFunc(d, func() { close(ch) }).Stop
	}
	if s.waiting != nil {
		s.waiting(s.clock.Now().Add(d))
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		stop()
		return false
	}
}
