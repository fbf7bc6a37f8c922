package middleware

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redghost/redghost/core"
)

// The watchdog of one Timeout cancels each handling's context at its
// deadline and gives up on it at deadline + grace: on the inline path (a
// handling of a worker or a pool, with a [core.Handling]) it abandons the
// handling through core.Handling, on the hand-off it wakes the caller
// waiting for the runner. The handlings of one Timeout with its own
// duration end in the order they start, so the watchdog keeps them in two
// lists in that order (waiting for their deadline, then for the end of
// their grace) with one timer for the earliest: no timer per message, and
// no timer reset per message either, since a new handling's deadline is
// never before the one the timer is set for. A message with a timeout of
// its own has a timer of its own (rare).

// States of a watched handling; guarded by the watchdog's mu.
const (
	watchRunning   = iota // before the deadline; in the pending list
	watchExpired          // context cancelled, in its grace; in the expired list
	watchWaited           // past its grace at the bound: waited for
	watchAbandoned        // abandoned: a retry was answered for it
	watchDone             // the handler returned in time (or was waited for)
)

// watched is one handling under the watchdog. It is also the handler's
// context (timeout_ctx.go).
type watched struct {
	parent   context.Context // the caller's
	detached detached
	mu       sync.Mutex   // orders the contexts' making and cancelling
	ctxState atomic.Int32 // ctxParent, ctxExpired or ctxLinked (timeout_ctx.go)
	// Made on demand (timeout_ctx.go): expired, cancelled at the deadline
	// while unlinked; linked, a registered child of parent.
	expired, linked context.Context
	cancelExpired   context.CancelCauseFunc
	cancelLinked    context.CancelFunc

	// How the watchdog gives up at the end of the grace: abandons h (the
	// inline path), or wakes the caller waiting for the runner (the
	// hand-off).
	h        *core.Handling
	wake     chan<- struct{}
	deadline time.Time
	grace    time.Duration
	cause    error
	own      *time.Timer // a message's own timeout's; nil in the lists

	// Guarded by the watchdog's mu.
	state      int
	prev, next *watched
}

// watchList is an intrusive list of watched handlings, in start order.
type watchList struct{ head, tail *watched }

func (l *watchList) push(w *watched) {
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
}

func (l *watchList) remove(w *watched) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}

// watchdog cancels and abandons the watched handlings of one Timeout.
type watchdog struct {
	t       *timeouter
	mu      sync.Mutex
	pending watchList // watchRunning, by deadline
	expired watchList // watchExpired, by deadline (+ grace)
	timer   *time.Timer
	armed   time.Time // when the timer fires; zero: it is not set
}

// handleWatched is handle's path for a handling h of a worker or pool: next
// runs here, on the caller's goroutine.
func (t *timeouter) handleWatched(ctx context.Context, next core.Handler, m *core.Message, h *core.Handling) core.Result {
	d, cause, grace, own := t.limits(m)
	w := &watched{parent: ctx, h: h, cause: cause, grace: grace}
	wd := &t.watch
	wd.watch(w, d, own)
	res := t.call(w, next, m) // a panic as on the runners' path
	late := wd.leave(w)
	w.close()
	if late {
		// Abandoned: the worker has answered a retry (make sure of it before
		// returning to it, should the watchdog not have told it yet).
		retry := t.abandonedRetry(w)
		h.Abandon(retry)
		t.abandoned.Add(-1)
		if t.cfg.onLate != nil {
			t.cfg.onLate(m, res)
		}
		return retry
	}
	return t.finish(w, w.cause, w.deadline, res)
}

// abandonedRetry is the answer for the abandoned handling w.
func (t *timeouter) abandonedRetry(w *watched) core.Result {
	return core.RetryErr(t.cfg.backoff, w.cause)
}

// watch starts watching w, with d, the message's own timeout (own), or
// the watchdog's duration.
func (wd *watchdog) watch(w *watched, d time.Duration, own bool) {
	if !own {
		wd.add(w)
		return
	}
	// The message's own timeout: its own timer.
	wd.mu.Lock()
	w.deadline = time.Now().Add(d)
	w.own = time.AfterFunc(d, func() { wd.fireOwn(w) })
	wd.mu.Unlock()
}

// giveUp ends the wait for w, whose grace is over and which abandonLocked
// abandoned.
func (wd *watchdog) giveUp(w *watched) {
	if w.h != nil {
		w.h.Abandon(wd.t.abandonedRetry(w))
		return
	}
	select {
	case w.wake <- struct{}{}:
	default: // cannot happen: one wake per handling, drained before the next
	}
}

// add starts watching w with the watchdog's duration.
func (wd *watchdog) add(w *watched) {
	wd.mu.Lock()
	// Now under the lock: deadlines enter the list in order.
	w.deadline = time.Now().Add(wd.t.d)
	wd.pending.push(w)
	if wd.armed.IsZero() || w.deadline.Before(wd.armed) {
		wd.armLocked(w.deadline)
	}
	wd.mu.Unlock()
}

// armLocked sets the timer to fire at at.
func (wd *watchdog) armLocked(at time.Time) {
	wd.armed = at
	if wd.timer == nil {
		wd.timer = time.AfterFunc(time.Until(at), wd.fire)
		return
	}
	wd.timer.Reset(time.Until(at))
}

// leave ends the watch of w, whose handler has returned, and reports whether
// it was abandoned.
func (wd *watchdog) leave(w *watched) (abandoned bool) {
	wd.mu.Lock()
	switch w.state {
	case watchRunning:
		if w.own == nil {
			wd.pending.remove(w)
		}
	case watchExpired:
		if w.own == nil {
			wd.expired.remove(w)
		}
	case watchAbandoned:
		abandoned = true
	}
	if !abandoned {
		w.state = watchDone
	}
	own := w.own
	wd.mu.Unlock()
	if own != nil {
		own.Stop()
	}
	return abandoned
}

// fire cancels the handlings whose deadline has passed, abandons those whose
// grace has too, and sets the timer for the next.
func (wd *watchdog) fire() {
	var cancel, abandon []*watched
	wd.mu.Lock()
	now := time.Now()
	for w := wd.pending.head; w != nil && !w.deadline.After(now); w = wd.pending.head {
		wd.pending.remove(w)
		w.state = watchExpired
		wd.expired.push(w)
		cancel = append(cancel, w)
	}
	for w := wd.expired.head; w != nil && !w.deadline.Add(w.grace).After(now); w = wd.expired.head {
		wd.expired.remove(w)
		if wd.abandonLocked(w) {
			abandon = append(abandon, w)
		}
	}
	var next time.Time
	if w := wd.pending.head; w != nil {
		next = w.deadline
	}
	if w := wd.expired.head; w != nil && (next.IsZero() || w.deadline.Add(w.grace).Before(next)) {
		next = w.deadline.Add(w.grace)
	}
	wd.armed = time.Time{}
	if !next.IsZero() {
		wd.armLocked(next)
	}
	wd.mu.Unlock()
	for _, w := range cancel {
		w.cancelWith(w.cause)
	}
	for _, w := range abandon {
		wd.giveUp(w)
	}
}

// abandonLocked decides the fate of w at the end of its grace: abandoned,
// if the bound allows, else waited for.
func (wd *watchdog) abandonLocked(w *watched) bool {
	if !wd.t.reserve() {
		w.state = watchWaited
		return false
	}
	w.state = watchAbandoned
	return true
}

// fireOwn is the timer of a handling with a timeout of its own: its
// deadline, then the end of its grace.
func (wd *watchdog) fireOwn(w *watched) {
	wd.mu.Lock()
	switch w.state {
	case watchRunning:
		w.state = watchExpired
		w.own.Reset(w.grace)
		wd.mu.Unlock()
		w.cancelWith(w.cause)
	case watchExpired:
		ok := wd.abandonLocked(w)
		wd.mu.Unlock()
		if ok {
			wd.giveUp(w)
		}
	default:
		wd.mu.Unlock()
	}
}
