package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// poolQueue is one queue of a [Pool]: its handler, what the pool holds of
// it, and its statistics. The fields under "scheduling" are guarded by the
// pool's mu; the lock table by flightMu.
type poolQueue struct {
	name string
	h    Handler
	cfg  queueConfig
	seq  int // order of registration, for stable ties

	// scheduling (Pool.mu)
	buf         []*Delivery // taken, not yet picked up by a handler
	running     int         // handlers busy with it
	outstanding int         // taken and not yet handled: len(buf) + running
	pass        float64     // weighted fair share: virtual time of its next turn
	ready       bool        // believed to have messages ready
	due         time.Time   // when a delayed, locked or held message comes due (zero: none known)
	fetching    bool        // a dequeue for it is under way
	removing    bool        // Remove was called: take no more
	acksClosed  bool

	hctx      context.Context // its handlers' context
	hcancel   context.CancelFunc
	ackCtx    context.Context
	ackCancel context.CancelFunc
	acks      chan Ack
	done      chan struct{} // closed when its acknowledger has sent everything

	// lock table (flightMu)
	flightMu sync.Mutex
	inflight map[lockKey]LockRef   // held and not yet acknowledged
	handlers map[lockKey]*handling // picked up (or lost) and not yet released to an ack
	nflight  atomic.Int64

	queueing, handling *reservoir
	queueSize          atomic.Int64
	success, retry     atomic.Int64
	errorN, backoff    atomic.Int64
	sleeps, lockLost   atomic.Int64
	backendErrors      atomic.Int64
}

func newPoolQueue(name string, h Handler, cfg queueConfig, samples int) *poolQueue {
	return &poolQueue{
		name: name, h: h, cfg: cfg,
		inflight: make(map[lockKey]LockRef),
		handlers: make(map[lockKey]*handling),
		queueing: newReservoir(samples),
		handling: newReservoir(samples),
	}
}

// weight is the queue's share in weighted picking.
func (q *poolQueue) weight(strict bool) float64 {
	if strict {
		return 1
	}
	return float64(q.cfg.priority)
}

// stats is a snapshot of the queue's statistics.
func (q *poolQueue) stats() WorkerStats {
	return WorkerStats{
		QueueSize:     q.queueSize.Load(),
		Queueing:      q.queueing.summary(),
		Handling:      q.handling.summary(),
		Success:       q.success.Load(),
		Retry:         q.retry.Load(),
		Error:         q.errorN.Load(),
		Backoff:       q.backoff.Load(),
		Sleeps:        q.sleeps.Load(),
		LockLost:      q.lockLost.Load(),
		BackendErrors: q.backendErrors.Load(),
		InFlight:      q.nflight.Load(),
	}
}

// hold records the messages a dequeue took as held, for the heartbeat.
func (q *poolQueue) hold(ds []Delivery) {
	q.nflight.Add(int64(len(ds)))
	q.flightMu.Lock()
	for _, d := range ds {
		q.inflight[lockKey{d.ID, d.Token}] = LockRef{ID: d.ID, Token: d.Token, Duration: d.LockDuration}
	}
	q.flightMu.Unlock()
}

// begin, lostLocks and release keep the queue's lock table as the
// Worker's functions of the same names keep its own (see worker_lock.go).

func (q *poolQueue) begin(ctx context.Context, k lockKey) (hctx context.Context, end func(), ok bool) {
	q.flightMu.Lock()
	defer q.flightMu.Unlock()
	if h := q.handlers[k]; h != nil && h.lost {
		delete(q.handlers, k)
		delete(q.inflight, k)
		q.nflight.Add(-1)
		return nil, nil, false
	}
	hctx, cancel := context.WithCancelCause(ctx)
	h := &handling{cancel: cancel}
	q.handlers[k] = h
	return hctx, func() {
		q.flightMu.Lock()
		h.done = true
		q.flightMu.Unlock()
		cancel(nil)
	}, true
}

func (q *poolQueue) lostLocks(p *Pool, refs []LockRef, errs []error) {
	type loss struct {
		ref    LockRef
		err    error
		cancel context.CancelCauseFunc
	}
	var losses []loss
	q.flightMu.Lock()
	for i, ref := range refs {
		k := lockKey{ref.ID, ref.Token}
		if _, waiting := q.inflight[k]; !waiting {
			continue
		}
		switch h := q.handlers[k]; {
		case h == nil:
			q.handlers[k] = &handling{lost: true}
			losses = append(losses, loss{ref: ref, err: errs[i]})
		case h.lost || h.done:
		default:
			h.lost = true
			losses = append(losses, loss{ref: ref, err: errs[i], cancel: h.cancel})
		}
	}
	q.flightMu.Unlock()

	q.lockLost.Add(int64(len(losses)))
	for _, l := range losses {
		if l.cancel != nil {
			l.cancel(ErrLockLost)
			p.cfg.logger.Warn("redghost: lock lost while handling; the handler's context is cancelled",
				"queue", q.name, "id", l.ref.ID, "error", l.err)
			continue
		}
		p.cfg.logger.Warn("redghost: lock lost before handling; the message is left to the worker that holds it",
			"queue", q.name, "id", l.ref.ID, "error", l.err)
	}
}

func (q *poolQueue) release(batch []Ack) []Ack {
	send := batch[:0]
	q.flightMu.Lock()
	for _, a := range batch {
		k := lockKey{a.ID, a.Token}
		delete(q.inflight, k)
		h := q.handlers[k]
		delete(q.handlers, k)
		if h == nil || !h.lost {
			send = append(send, a)
		}
	}
	q.flightMu.Unlock()
	if dropped := len(batch) - len(send); dropped > 0 {
		q.nflight.Add(-int64(dropped))
	}
	return send
}

// handle runs the queue's handler on d and sends its answer to the
// queue's acknowledger, as [Worker] does.
func (q *poolQueue) handle(p *Pool, d *Delivery) {
	id, token, attempt := d.ID, d.Token, d.Attempt
	hctx, end, ok := q.begin(q.hctx, lockKey{id, token})
	if !ok {
		return
	}
	start := p.cfg.clock.Now()
	if d.Attempt == 1 {
		q.queueing.add(max(0, start.Sub(d.EnqueuedAt)))
	}
	res := q.call(hctx, &d.Message)
	end()
	took := p.cfg.clock.Now().Sub(start)
	q.handling.add(took)
	if avg := p.avgHandle.Load(); avg == 0 {
		p.avgHandle.Store(max(1, int64(took)))
	} else {
		p.avgHandle.Store(max(1, avg+(int64(took)-avg)/8))
	}

	a := Ack{ID: id, Token: token, Outcome: res.Outcome, Backoff: min(max(res.Backoff, 0), MaxDuration)}
	switch res.Outcome {
	case OutcomeSuccess:
		q.success.Add(1)
	case OutcomeRetry:
		q.retry.Add(1)
	default:
		q.errorN.Add(1)
		a.Outcome = OutcomeError
		a.Error = "error outcome without an error"
		if res.Err != nil {
			var pe *PanicError
			if errors.As(res.Err, &pe) && !pe.logged.Load() {
				LogPanic(q.hctx, p.cfg.logger, &Message{Queue: q.name, ID: id, Attempt: attempt}, pe)
			}
			a.Error = deadLetterText(res.Err)
		} else if res.Outcome != OutcomeError {
			a.Error = fmt.Sprintf("unknown outcome %d", res.Outcome)
		}
	}
	if a.Backoff > 0 && a.Outcome != OutcomeError {
		q.backoff.Add(1)
	}
	q.acks <- a
}

// call runs the handler; a panic is an error outcome, never a crash.
func (q *poolQueue) call(ctx context.Context, m *Message) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			res = Fail(NewPanicError(v))
		}
	}()
	return q.h.Handle(ctx, m)
}

// acknowledge sends the queue's outcomes in fenced batches until its acks
// channel is closed and drained, as [Worker] does; it gives up on a failed
// batch only when ackCtx ends.
func (q *poolQueue) acknowledge(p *Pool) {
	defer close(q.done)
	defer func() {
		// A removed queue leaves the pool once it has drained.
		p.mu.Lock()
		if q.removing && p.queues[q.name] == q {
			delete(p.queues, q.name)
		}
		p.mu.Unlock()
	}()
	callCtx := context.WithoutCancel(q.ackCtx)
	batch := make([]Ack, 0, p.cfg.maxBatch)
	for a := range q.acks {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < p.cfg.maxBatch {
			select {
			case a, ok := <-q.acks:
				if !ok {
					break fill
				}
				batch = append(batch, a)
			default:
				break fill
			}
		}
		if batch = q.release(batch); len(batch) == 0 {
			continue
		}
		for failures := 1; ; failures++ {
			errs, err := p.b.Ack(callCtx, q.name, batch)
			if err == nil {
				for i, e := range errs {
					switch {
					case e == nil:
					case failures > 1:
						p.cfg.logger.Debug("redghost: retried acknowledgement refused; the first attempt may have applied",
							"queue", q.name, "id", batch[i].ID, "error", e)
					default:
						q.lockLost.Add(1)
						p.cfg.logger.Warn("redghost: acknowledgement refused", "queue", q.name, "id", batch[i].ID, "error", e)
					}
				}
				break
			}
			q.backendErrors.Add(1)
			d := p.errorBackoff(failures)
			p.cfg.logger.Warn("redghost: acknowledgement failed", "queue", q.name, "messages", len(batch), "error", err, "retry_in", d)
			if !sleepCtx(q.ackCtx, d) {
				break
			}
		}
		q.nflight.Add(-int64(len(batch)))
	}
}

// extendLocks is the queue's part of one heartbeat: one ExtendLocks call
// for every lock it holds, if it holds any.
func (q *poolQueue) extendLocks(ctx context.Context, p *Pool, refs []LockRef) []LockRef {
	refs = refs[:0]
	q.flightMu.Lock()
	for _, r := range q.inflight {
		refs = append(refs, r)
	}
	q.flightMu.Unlock()
	if len(refs) == 0 {
		return refs
	}
	errs, err := p.b.ExtendLocks(ctx, q.name, refs)
	if err != nil {
		q.backendErrors.Add(1)
		p.cfg.logger.Warn("redghost: lock heartbeat failed", "queue", q.name, "messages", len(refs), "error", err)
		return refs
	}
	lost, lostErrs := []LockRef(nil), []error(nil)
	for i, e := range errs {
		switch {
		case e == nil:
		case isLockLost(e):
			lost, lostErrs = append(lost, refs[i]), append(lostErrs, e)
		default:
			p.cfg.logger.Warn("redghost: lock extension refused", "queue", q.name, "id", refs[i].ID, "error", e)
		}
	}
	if len(lost) > 0 {
		q.lostLocks(p, lost, lostErrs)
	}
	return refs
}
