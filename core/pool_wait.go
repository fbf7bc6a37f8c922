package core

import (
	"context"
	"slices"
	"time"
)

// waitForRoom waits until a handler finishes or the queues change, reading
// the idle queues' wakes every idleCheckEvery meanwhile when the pool has
// room for them, and waking at the earliest due time.
func (p *Pool) waitForRoom(ctx context.Context, lastCheck *time.Time) {
	p.mu.Lock()
	active := 0
	for _, q := range p.order {
		if !q.removing && (q.ready || q.outstanding > 0) {
			active++
		}
	}
	room := p.total < p.cfg.concurrency+p.prefetchWindow(active)
	idle := false
	for _, q := range p.order {
		if !q.removing && !q.ready {
			idle = true
			break
		}
	}
	due := p.nextDueLocked()
	p.mu.Unlock()
	var d time.Duration = -1
	if room && idle {
		d = max(0, idleCheckEvery-time.Since(*lastCheck))
	}
	if !due.IsZero() {
		if until := max(0, time.Until(due)); d < 0 || until < d {
			d = until
		}
	}
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-p.kick:
	case <-ctx.Done():
	case <-timer:
		if room && idle && time.Since(*lastCheck) >= idleCheckEvery {
			p.checkIdle(ctx)
			*lastCheck = time.Now()
		}
	}
}

// idleNamesLocked lists the queues to wait on, in registration order:
// those not believed ready (all: every queue), but none seen paused
// within the last wait cycle.
func (p *Pool) idleNamesLocked(all bool) []*poolQueue {
	var qs []*poolQueue
	now := time.Now()
	for _, q := range p.order {
		if !q.removing && (all || !q.ready) && !now.Before(q.pausedUntil) {
			qs = append(qs, q)
		}
	}
	return qs
}

// queueNames lists the names of qs, in order.
func queueNames(qs []*poolQueue) []string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.name
	}
	return names
}

// checkIdle reads, without blocking, the wakes of the queues not believed
// ready, and marks the woken ones ready. Without a MultiWaiter it marks
// them all ready once per max wait.
func (p *Pool) checkIdle(ctx context.Context) {
	p.mu.Lock()
	qs := p.idleNamesLocked(false)
	p.mu.Unlock()
	if len(qs) == 0 {
		return
	}
	if p.mw == nil {
		if time.Since(p.lastSweep) < p.cfg.maxWait {
			return
		}
		p.lastSweep = time.Now()
		p.markReady(qs, nil)
		return
	}
	names := queueNames(qs)
	woken, err := p.mw.WaitAny(ctx, WaitAnyParams{Queues: names})
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.logger.Warn("redghost: reading queue wakes failed", "queues", len(names), "error", err)
		}
		return
	}
	p.markReady(qs, woken)
}

// markReady marks ready the queues of qs named in names (all of qs when
// names is nil).
func (p *Pool) markReady(qs []*poolQueue, names []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, q := range qs {
		if p.queues[q.name] == q && !q.removing && (names == nil || slices.Contains(names, q.name)) {
			p.setReadyLocked(q)
		}
	}
}

// waitIdle waits while no queue has work: on every queue at once with the
// backend's MultiWaiter, for at most the max wait or until the earliest
// due time. A wait that ends with no wake marks one queue ready in turn,
// in case a wake was lost.
func (p *Pool) waitIdle(ctx context.Context) {
	p.mu.Lock()
	qs := p.idleNamesLocked(true)
	timeout := p.cfg.maxWait
	dueBound := false
	if due := p.nextDueLocked(); !due.IsZero() {
		if until := max(0, time.Until(due)); until < timeout {
			timeout, dueBound = until, true
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	p.waitStop = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waitStop = nil
		p.mu.Unlock()
		cancel()
	}()

	if len(qs) == 0 {
		select {
		case <-p.kick:
		case <-wctx.Done():
		}
		return
	}
	if p.mw == nil {
		if sleepCtx(wctx, timeout) && !dueBound {
			p.lastSweep = time.Now()
			p.markReady(qs, nil)
		}
		return
	}
	names := queueNames(qs)
	woken, err := p.mw.WaitAny(wctx, WaitAnyParams{Queues: names, Timeout: timeout})
	switch {
	case err != nil && wctx.Err() != nil:
		return // stopping, or a queue was added
	case err != nil:
		p.cfg.logger.Warn("redghost: waiting on queues failed", "queues", len(names), "error", err)
		sleepCtx(ctx, p.cfg.errorBackoff(1))
		p.markReady(qs, nil)
	case len(woken) > 0:
		p.markReady(qs, woken)
	case dueBound:
		// A wait cut short by a due time (a delayed message, a paused
		// queue's next look) may end before the backend has read any
		// wake: on Redis it sleeps out its last step. Read the wakes that
		// came meanwhile, without blocking, so that due times that keep
		// coming never starve the other queues.
		p.checkIdle(ctx)
	default:
		// A quiet max wait: look at one queue, in turn.
		p.mu.Lock()
		q := qs[p.sweep%len(qs)]
		p.sweep++
		p.mu.Unlock()
		p.markReady([]*poolQueue{q}, nil)
	}
}
