package core

import (
	"slices"
	"time"
)

// heartbeat extends the locks every queue holds, one call per queue, every
// heartbeat interval until done is closed or the hard stop.
func (p *Pool) heartbeat(done <-chan struct{}) {
	var refs []LockRef
	p.every(done, p.cfg.heartbeat, func() {
		for _, q := range p.snapshot() {
			refs = q.extendLocks(p.hctx, p, refs)
		}
	})
}

// monitor reads queue sizes: with a [WithMonitor] callback, every queue
// every interval; without one, one queue per interval in turn, so that an
// idle pool of many queues costs no more than one worker.
func (p *Pool) monitor(done <-chan struct{}) {
	lastWarn := make(map[string]time.Time)
	turn := 0
	p.every(done, p.cfg.monitorEvery, func() {
		qs := p.snapshot()
		if len(qs) == 0 {
			return
		}
		if p.cfg.monitor == nil {
			qs = qs[turn%len(qs) : turn%len(qs)+1]
			turn++
		}
		for _, q := range qs {
			st, err := p.b.QueueStats(p.hctx, q.name)
			if err == nil {
				q.queueSize.Store(st.Total)
			}
			if p.cfg.monitor != nil {
				p.cfg.monitor(MonitorInfo{Queue: q.name, QueueSize: st.Total, Stats: st, Err: err})
				continue
			}
			now := p.cfg.clock.Now()
			if last := lastWarn[q.name]; err == nil && st.Total > 1000 && (last.IsZero() || now.Sub(last) >= 6*time.Hour) {
				lastWarn[q.name] = now
				p.cfg.logger.Warn("redghost: queue is growing", "queue", q.name, "size", st.Total)
			}
		}
	})
}

// snapshot lists the pool's queues, removed ones still draining included,
// in registration order.
func (p *Pool) snapshot() []*poolQueue {
	p.mu.Lock()
	qs := make([]*poolQueue, 0, len(p.queues))
	for _, q := range p.queues {
		qs = append(qs, q)
	}
	p.mu.Unlock()
	slices.SortFunc(qs, func(a, b *poolQueue) int { return a.seq - b.seq })
	return qs
}

// every calls fn every interval of the pool's clock until done is closed
// or the hard stop.
func (p *Pool) every(done <-chan struct{}, interval time.Duration, fn func()) {
	t := newTicker(p.cfg.clock, interval)
	defer t.Stop()
	for {
		select {
		case <-t.C():
			fn()
		case <-done:
			return
		case <-p.hctx.Done():
			return
		}
	}
}
