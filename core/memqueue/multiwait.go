package memqueue

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

var _ core.MultiWaiter = (*Backend)(nil)

// multiWait is one WaitAny call blocked on several queues; guarded by b.mu.
type multiWait struct {
	ch    chan struct{} // capacity 1: something was woken
	woken map[string]struct{}
}

// wake records queue as woken and tells the call. Call with b.mu held.
func (mw *multiWait) wake(queue string) {
	mw.woken[queue] = struct{}{}
	select {
	case mw.ch <- struct{}{}:
	default:
	}
}

// wakeMulti tells the WaitAny calls blocked on queue. Call with b.mu held.
func (b *Backend) wakeMulti(queue string) {
	for mw := range b.multi[queue] {
		mw.wake(queue)
	}
}

// WaitAny waits as Wait does on every queue of p.Queues at once and
// answers the queues that were woken. It answers at once the queues on
// which a Dequeue would find work; otherwise it blocks until an enqueue
// or a sooner retry wakes one, the first delayed, locked or held message
// of one comes due on the backend's clock, p.Timeout (real time) passes
// (answering none) or ctx is done.
func (b *Backend) WaitAny(ctx context.Context, p core.WaitAnyParams) ([]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	now := b.clock.Now()
	var ready []string
	var first *record // the earliest due message of the queues
	var firstQueue string
	for _, name := range p.Queues {
		q := b.queues[name]
		if q == nil {
			continue
		}
		if q.hasWork(now) {
			ready = append(ready, name)
		} else if len(q.due) > 0 && (first == nil || q.due[0].dueAt.Before(first.dueAt)) {
			first, firstQueue = q.due[0], name
		}
	}
	if len(ready) > 0 || p.Timeout <= 0 {
		b.mu.Unlock()
		return ready, nil
	}
	mw := &multiWait{ch: make(chan struct{}, 1), woken: make(map[string]struct{})}
	for _, name := range p.Queues {
		set := b.multi[name]
		if set == nil {
			set = make(map[*multiWait]struct{})
			b.multi[name] = set
		}
		set[mw] = struct{}{}
	}
	if first != nil {
		stop := b.afterFunc(first.dueAt.Sub(now), func() {
			b.mu.Lock()
			mw.wake(firstQueue)
			b.mu.Unlock()
		})
		defer stop()
	}
	b.mu.Unlock()

	t := time.NewTimer(p.Timeout)
	defer t.Stop()
	var err error
	select {
	case <-mw.ch:
	case <-t.C:
	case <-ctx.Done():
		err = ctx.Err()
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range p.Queues {
		if set := b.multi[name]; set != nil {
			delete(set, mw)
			if len(set) == 0 {
				delete(b.multi, name)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(mw.woken)), nil
}
