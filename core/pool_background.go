package core

import (
	"context"
	"slices"
)

// heartbeat refreshes the pool's registration and extends the locks every
// queue holds, one call per queue, every heartbeat interval until done is
// closed or the hard stop.
func (p *Pool) heartbeat(done <-chan struct{}) {
	var refs []LockRef
	every(p.hctx, p.cfg.clock, done, p.cfg.heartbeat, func() {
		p.reg.register(p.hctx)
		for _, q := range p.snapshot() {
			refs = q.extendLocks(p.hctx, refs)
		}
	})
}

// monitor reads queue sizes: with a [WithMonitor] callback, every queue
// every interval; without one, one queue per interval in turn, so that an
// idle pool of many queues costs no more than one worker.
func (p *Pool) monitor(done <-chan struct{}) {
	turn := 0
	every(p.hctx, p.cfg.clock, done, p.cfg.monitorEvery, func() {
		qs := p.snapshot()
		if len(qs) == 0 {
			return
		}
		if p.cfg.monitor == nil {
			qs = qs[turn%len(qs) : turn%len(qs)+1]
			turn++
		}
		for _, q := range qs {
			q.monitorOnce(p.hctx)
		}
	})
}

// held answers, for the pool's registration, the queues it handles and
// the messages it holds.
func (p *Pool) held() ([]string, int) {
	n := int64(0)
	for _, q := range p.snapshot() {
		n += q.nflight.Load()
	}
	return p.Queues(), int(n)
}

// checkHealth asks a [HealthChecker] backend about the store under each
// of the pool's queues before the pool starts.
func (p *Pool) checkHealth(ctx context.Context) error {
	hc, ok := p.b.(HealthChecker)
	if !ok {
		return nil
	}
	for _, name := range p.Queues() {
		if err := hc.CheckHealth(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// snapshot lists the pool's queues, removed ones still draining included,
// in registration order.
func (p *Pool) snapshot() []*poolQueue {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.order)
}
