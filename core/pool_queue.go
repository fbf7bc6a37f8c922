package core

import (
	"context"
	"slices"
	"time"
)

// poolQueue is one queue of a [Pool]: its runner (handler, lock table,
// acknowledger, statistics, as a [Worker]'s) and what the pool's
// scheduling knows of it. The fields under "scheduling" are guarded by
// the pool's mu.
type poolQueue struct {
	*queueRunner
	cfg queueConfig

	// scheduling (Pool.mu)
	buf         []*Delivery // taken, not yet picked up by a handler
	running     int         // handlers busy with it
	outstanding int         // taken and not yet handled: len(buf) + running
	pass        float64     // weighted fair share: virtual time of its next turn
	ready       bool        // believed to have messages ready
	due         time.Time   // when a delayed, locked or held message comes due (zero: none known)
	pausedUntil time.Time   // paused (Queue.Pause): not asked again, nor waited on, before then
	fetching    bool        // a dequeue for it is under way
	removing    bool        // Remove was called: take no more
	acksClosed  bool

	hcancel   context.CancelFunc // ends its handlers' context
	ackCtx    context.Context
	ackCancel context.CancelFunc
	done      chan struct{} // closed when its acknowledger has sent everything
}

// weight is the queue's share in weighted picking.
func (q *poolQueue) weight(strict bool) float64 {
	if strict {
		return 1
	}
	return float64(q.cfg.priority)
}

// acknowledge runs the queue's acknowledger until its acks channel is
// closed and drained; a removed queue then leaves the pool, and its
// contexts end: the pool's contexts, their parents, would otherwise keep
// them, and with them the queue's runner (startHandlers), until the pool
// stops.
func (q *poolQueue) acknowledge(p *Pool) {
	defer close(q.done)
	q.queueRunner.acknowledge(q.ackCtx)
	p.mu.Lock()
	removed := q.removing
	if removed && p.queues[q.name] == q {
		p.dropLocked(q)
	}
	p.mu.Unlock()
	if removed {
		q.hcancel()
		q.ackCancel()
	}
}

// addLocked adds q to the pool's queues, last in registration order.
// Call with p.mu held.
func (p *Pool) addLocked(q *poolQueue) {
	p.queues[q.name] = q
	p.order = append(p.order, q)
}

// dropLocked takes q out of the pool's queues. Call with p.mu held.
func (p *Pool) dropLocked(q *poolQueue) {
	delete(p.queues, q.name)
	p.order = slices.DeleteFunc(p.order, func(o *poolQueue) bool { return o == q })
}
