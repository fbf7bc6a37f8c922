package core

import (
	"context"
	"math"
	"slices"
	"time"
)

// idleCheckEvery is how often a pool busy with some queues reads the
// wakes of the others.
const idleCheckEvery = 25 * time.Millisecond

// fetchWait says why the fetcher has nothing to take now.
type fetchWait int

const (
	waitWork fetchWait = iota // no queue is believed to have work
	waitRoom                  // some have, but the pool (or their cap) has no room
)

// maxFetches bounds the dequeues a weighted pool has in flight at once,
// each for another queue: while one waits on the backend, the next is on
// its way, so that the fetcher keeps up with fast handlers over many
// queues. A strict pool has one at most: a lower queue is never taken
// from while a higher one's dequeue is under way.
const maxFetches = 2

// fetched is the answer of one dequeue.
type fetched struct {
	q   *poolQueue
	n   int
	res DequeueResult
	err error
}

// fetch takes batches for the queues the pool has room for until ctx
// ends, and waits for wake-ups when none has work.
func (p *Pool) fetch(ctx context.Context) {
	// Dequeues run on a context that shutdown does not cancel: a call cut
	// short after the backend locked messages would strand them.
	callCtx := context.WithoutCancel(ctx)
	limit := maxFetches
	if p.cfg.strict {
		limit = 1
	}
	done := make(chan fetched, limit)
	inflight := 0
	failures := 0
	lastCheck := time.Now()
	defer func() {
		for ; inflight > 0; inflight-- { // what was taken is handled
			p.absorb(<-done)
		}
	}()
	for ctx.Err() == nil {
		var q *poolQueue
		var n int
		why := waitRoom
		p.mu.Lock()
		p.markDueLocked(time.Now())
		if inflight < limit {
			q, n, why = p.chooseLocked()
		}
		// Waiting for room, the fetcher asks the handlers to wake it once
		// enough has been handled (see chooseLocked's kickBelow), not at
		// every message.
		p.wantKick = q == nil && why == waitRoom && inflight < limit
		if q != nil {
			// The batch's room is held until its answer comes.
			q.fetching = true
			q.outstanding += n
			p.total += n
		}
		p.mu.Unlock()

		if q != nil {
			inflight++
			go func() {
				res, err := p.b.Dequeue(callCtx, DequeueParams{Queue: q.name, Max: n, Lock: p.cfg.lock})
				done <- fetched{q, n, res, err}
			}()
			continue
		}
		if inflight > 0 {
			select {
			case f := <-done:
				inflight--
				if !p.absorb(f) {
					failures++
					if !sleepCtx(ctx, p.cfg.errorBackoff(failures)) {
						return
					}
				} else {
					failures = 0
				}
			case <-p.kick:
			case <-ctx.Done():
			}
		} else if why == waitWork {
			p.waitIdle(ctx)
			lastCheck = time.Now()
			continue
		} else {
			p.waitForRoom(ctx, &lastCheck)
			continue
		}
		if time.Since(lastCheck) >= idleCheckEvery {
			p.checkIdle(ctx)
			lastCheck = time.Now()
		}
	}
}

// absorb takes in the answer of one dequeue: its messages go to their
// queue's buffer for the handlers. It answers false if the dequeue
// failed.
func (p *Pool) absorb(f fetched) bool {
	q, n, res := f.q, f.n, f.res
	now := time.Now()
	got := len(res.Messages)
	if f.err != nil {
		got = 0
	}
	p.mu.Lock()
	q.fetching = false
	q.outstanding -= n - got
	p.total -= n - got
	if f.err != nil {
		q.backendErrors.Add(1)
		p.closeAcksIfDrained(q)
		p.mu.Unlock()
		p.cfg.logger.Warn("redghost: dequeue failed", "queue", q.name, "error", f.err)
		return false
	}
	if got > 0 {
		q.hold(res.Messages)
		for i := range res.Messages {
			q.buf = append(q.buf, &res.Messages[i])
		}
		p.buffered += got
	}
	if res.Paused {
		// Paused: ask again after a full wait cycle, as a worker does,
		// without waiting on its wakes, which enqueues to the paused
		// queue would send.
		q.ready = false
		q.sleeps.Add(1)
		q.pausedUntil = now.Add(p.cfg.maxWait)
		q.due = q.pausedUntil
	} else if got < n {
		// Nothing more ready now: wait for its wake, or its next due.
		q.ready = false
		q.sleeps.Add(1)
		q.due = time.Time{}
		if res.NextDue > 0 {
			q.due = now.Add(res.NextDue)
		}
	}
	p.closeAcksIfDrained(q)
	p.mu.Unlock()
	switch {
	case got >= p.cfg.concurrency:
		p.work.Broadcast()
	default:
		for range got {
			p.work.Signal()
		}
	}
	return true
}

// markDueLocked marks ready the queues whose next due time has come.
func (p *Pool) markDueLocked(now time.Time) {
	for _, q := range p.order {
		if !q.due.IsZero() && !now.Before(q.due) {
			p.setReadyLocked(q)
		}
	}
}

// setReadyLocked marks q as having work. A queue that comes back from
// empty takes its turns from now on: it does not catch up on the turns it
// had no work for.
func (p *Pool) setReadyLocked(q *poolQueue) {
	if !q.pausedUntil.IsZero() {
		if time.Now().Before(q.pausedUntil) {
			return // a wake of a paused queue: its wait cycle decides
		}
		q.pausedUntil = time.Time{}
	}
	q.due = time.Time{}
	if q.ready {
		return
	}
	q.ready = true
	if q.outstanding == 0 {
		q.pass = max(q.pass, p.vt)
	}
}

// nextDueLocked is the earliest due time of the queues not believed ready
// (zero: none).
func (p *Pool) nextDueLocked() time.Time {
	var first time.Time
	for _, q := range p.order {
		if !q.removing && !q.due.IsZero() && (first.IsZero() || q.due.Before(first)) {
			first = q.due
		}
	}
	return first
}

// prefetchWindow is how many messages the pool may hold beyond its busy
// handlers, as [Worker]'s but per queue with work: none until a handling
// time is known, then the configured prefetch for each of the active
// queues, at most what fits 20 ms of handling per handler in all. So a
// pool over ten busy queues takes batches as large as a worker on one.
func (p *Pool) prefetchWindow(active int) int {
	return p.cfg.prefetchWindow(p.avgHandle.Load(), active)
}

// chooseLocked picks the queue to take a batch for, and the batch's size,
// or says why there is none. Weighted: of the ready queues holding less
// than their share of the pool's room (their priority's part of the
// priorities of the queues with work), the one whose turn comes first.
// Strict: the ready queue of highest priority that has room. When it
// answers waitRoom it sets p.kickBelow: the fetcher need not look again
// before the pool holds that few messages.
func (p *Pool) chooseLocked() (*poolQueue, int, fetchWait) {
	cands := p.cands[:0]
	defer func() { clear(cands); p.cands = cands[:0] }()
	weights := 0.0
	active := 0
	for _, q := range p.order {
		if q.removing {
			continue
		}
		if q.ready || q.outstanding > 0 {
			weights += q.weight(p.cfg.strict)
			active++
		}
		if q.ready && !q.fetching {
			cands = append(cands, q)
		}
	}
	window := p.prefetchWindow(active)
	limit := p.cfg.concurrency + window
	room := limit - p.total
	if len(cands) == 0 {
		return nil, 0, waitWork
	}
	if room < 1 {
		p.kickBelow = limit - 1
		return nil, 0, waitRoom
	}
	capOf := func(q *poolQueue) int {
		if !q.cfg.capped {
			return limit
		}
		c := q.cfg.concurrency
		return c + int(math.Ceil(float64(window)*float64(c)/float64(p.cfg.concurrency)))
	}
	var best *poolQueue
	var bestWant, bestLimit int
	if p.cfg.strict {
		// Stable: cands are in registration order, which breaks ties.
		slices.SortStableFunc(cands, func(a, b *poolQueue) int { return b.cfg.priority - a.cfg.priority })
		for _, q := range cands {
			ql := capOf(q)
			if want := ql - q.outstanding; want >= 1 {
				best, bestWant, bestLimit = q, want, ql
				break
			}
		}
	} else {
		// Of the queues below their share, the one whose turn comes first:
		// handlers take messages in turn order, so fetching in that order
		// keeps every queue's next turn at hand, even with no prefetch.
		// A queue that holds nearly its share already would take a tiny
		// batch: of the queues that can take at least half the largest
		// batch any can, the one whose turn comes first.
		type cand struct {
			q        *poolQueue
			want, ql int
		}
		var wants []cand
		most := 0
		for _, q := range cands {
			ql := capOf(q)
			if window > 0 {
				// Held messages are shared too, so that one queue's batch
				// does not fill the pool's room. Without prefetch every
				// taken message has a handler waiting, and turns alone
				// share them.
				share := int(math.Ceil(float64(limit) * q.weight(false) / weights))
				ql = min(max(share, 1), ql)
			}
			want := ql - q.outstanding
			if want < 1 {
				continue
			}
			wants = append(wants, cand{q, want, ql})
			most = max(most, min(p.cfg.maxBatch, room, want))
		}
		bestPass := 0.0
		for _, c := range wants {
			if min(p.cfg.maxBatch, room, c.want) < max(1, most/2) {
				continue
			}
			if best == nil || c.q.pass < bestPass { // ties: the first registered
				best, bestWant, bestLimit, bestPass = c.q, c.want, c.ql, c.q.pass
			}
		}
	}
	if best == nil {
		p.kickBelow = p.total - 1
		return nil, 0, waitRoom
	}
	n := min(p.cfg.maxBatch, room, bestWant)
	// While every handler is busy, wait for room for half a batch, so that
	// batches stay large. Each handled message adds one to n at most.
	if want := wantRoom(p.busy >= p.cfg.concurrency, p.cfg.maxBatch, bestLimit); n < want {
		p.kickBelow = p.total - (want - n)
		return nil, 0, waitRoom
	}
	return best, n, 0
}
