package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// queueRunner is what a [Worker] and each queue of a [Pool] share: the
// handler of one queue, the lock table of the messages held of it, the
// handling of one message, the queue's acknowledger, its part of a
// heartbeat and of the monitor, and its statistics. The worker and the
// pool differ only in how they take messages and give them to handlers.
type queueRunner struct {
	name      string
	b         Backend
	h         Handler
	conf      *workerConfig
	avg       *atomic.Int64 // moving average of handling time, ns (a pool's is shared by its queues)
	acks      chan Ack      // into the acknowledger; made at start
	flightMu  sync.Mutex
	flights   map[lockKey]*flight // held and not yet released to an ack; guarded by flightMu
	stopCause error               // set when the handlers' context ends; guarded by flightMu
	hbase     context.Context     // the handlers' contexts' parent (see startHandlers), and its logs' context
	nflight   atomic.Int64

	queueing, handling *reservoir
	queueSize          atomic.Int64
	oldestReady        atomic.Int64 // time.Duration
	success, retry     atomic.Int64
	errorN, backoff    atomic.Int64
	sleeps, lockLost   atomic.Int64
	backendErrors      atomic.Int64
	canceled           atomic.Int64

	lastWarn time.Time // the last "queue is growing" warning; the monitor's only
}

type lockKey struct {
	id    string
	token uint64
}

func newQueueRunner(b Backend, name string, h Handler, conf *workerConfig, avg *atomic.Int64) *queueRunner {
	return &queueRunner{
		name: name, b: b, h: h, conf: conf, avg: avg,
		flights:  make(map[lockKey]*flight),
		queueing: newReservoir(conf.samples),
		handling: newReservoir(conf.samples),
	}
}

// stats is a snapshot of the queue's statistics; the caller sets Running.
func (r *queueRunner) stats() WorkerStats {
	return WorkerStats{
		QueueSize:     r.queueSize.Load(),
		OldestReady:   time.Duration(r.oldestReady.Load()),
		Queueing:      r.queueing.summary(),
		Handling:      r.handling.summary(),
		Success:       r.success.Load(),
		Retry:         r.retry.Load(),
		Error:         r.errorN.Load(),
		Backoff:       r.backoff.Load(),
		Sleeps:        r.sleeps.Load(),
		LockLost:      r.lockLost.Load(),
		BackendErrors: r.backendErrors.Load(),
		InFlight:      r.nflight.Load(),
		Canceled:      r.canceled.Load(),
	}
}

// hold records the messages a dequeue took as held, for the heartbeat,
// with one allocation for the batch's records.
func (r *queueRunner) hold(ds []Delivery) {
	r.nflight.Add(int64(len(ds)))
	fs := make([]flight, len(ds))
	r.flightMu.Lock()
	for i, d := range ds {
		fs[i].ref = LockRef{ID: d.ID, Token: d.Token, Duration: d.LockDuration}
		r.flights[lockKey{d.ID, d.Token}] = &fs[i]
	}
	r.flightMu.Unlock()
}

// handle runs the handler on the message of d, which only this call uses:
// the handler gets a pointer into the batch (no copy per message), and
// whatever it changes there cannot change the ack. The answer goes to the
// acknowledger. s is the calling handler goroutine's slot; handle answers
// false when the handling was abandoned (see [Handling.Abandon]): the
// answer was sent and the slot handed to a fresh goroutine, so the caller
// must end without touching its loop's state.
func (r *queueRunner) handle(d *Delivery, s *slot) bool {
	hctx, f, ok := r.begin(lockKey{d.ID, d.Token})
	if !ok {
		return true
	}
	if hctx == nil {
		// Cancelled before a handler picked it up: done, not handled.
		r.canceled.Add(1)
		r.acks <- Ack{ID: d.ID, Token: d.Token, Outcome: OutcomeSuccess}
		return true
	}
	start := r.conf.clock.Now()
	if d.Attempt == 1 {
		r.queueing.add(max(0, start.Sub(d.EnqueuedAt)))
	}
	// The handler's context is hctx answering its Handling, kept in f (no
	// allocation); see abandon.go.
	hc := f.enter(r, hctx, d, s, start)
	res := r.call(hc, &d.Message)
	if !hc.h.returned() {
		return false // abandoned: answered, and s is another goroutine's now
	}
	canceled := r.end(f)
	r.answer(&hc.h, res, canceled)
	return true
}

// answer records the handling h, which the handler answered (or a
// middleware abandoned) with res, and sends the answer to the
// acknowledger, for the message as it was taken; canceled: the message
// was cancelled meanwhile.
func (r *queueRunner) answer(h *Handling, res Result, canceled bool) {
	id, token := h.rec.ref.ID, h.rec.ref.Token
	took := r.conf.clock.Now().Sub(h.start)
	r.handling.add(took)
	// A moving average over about the last eight handlings; races between
	// handlers only blur it.
	if avg := r.avg.Load(); avg == 0 {
		r.avg.Store(max(1, int64(took)))
	} else {
		r.avg.Store(max(1, avg+(int64(took)-avg)/8))
	}

	a := Ack{ID: id, Token: token, Outcome: res.Outcome, Backoff: min(max(res.Backoff, 0), MaxDuration)}
	if canceled && endsCanceled(res) {
		// The message was cancelled: it is done, without a retry or a
		// dead letter (see Queue.Cancel).
		r.canceled.Add(1)
		a.Outcome, a.Backoff = OutcomeSuccess, 0
		r.acks <- a
		return
	}
	switch res.Outcome {
	case OutcomeSuccess:
		r.success.Add(1)
	case OutcomeRetry:
		r.retry.Add(1)
	default:
		r.errorN.Add(1)
		a.Outcome = OutcomeError
		a.Error = "error outcome without an error"
		if res.Err != nil {
			r.logPanic(r.hbase, id, h.attempt, res.Err)
			a.Error = deadLetterText(res.Err)
		} else if res.Outcome != OutcomeError {
			a.Error = fmt.Sprintf("unknown outcome %d", res.Outcome)
		}
	}
	if a.Backoff > 0 && a.Outcome != OutcomeError {
		r.backoff.Add(1)
	}
	r.acks <- a
}

// call runs the handler; a panic is an error outcome, never a crash.
func (r *queueRunner) call(ctx context.Context, m *Message) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			res = Fail(NewPanicError(v))
		}
	}()
	return r.h.Handle(ctx, m)
}

// acknowledge sends outcomes in batches until the acks channel is closed
// and drained. It gives up on a failed batch only when ctx ends (the stop
// grace has passed): the messages then come back when their locks expire.
func (r *queueRunner) acknowledge(ctx context.Context) {
	callCtx := context.WithoutCancel(ctx)
	batch := make([]Ack, 0, r.conf.maxBatch)
	for a := range r.acks {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < r.conf.maxBatch {
			select {
			case a, ok := <-r.acks:
				if !ok {
					break fill
				}
				batch = append(batch, a)
			default:
				break fill
			}
		}
		// Out of the heartbeat's set before the ack is sent: extending a lock
		// the ack has just released would read as a lost lock.
		if batch = r.release(batch); len(batch) == 0 {
			continue
		}
		for failures := 1; ; failures++ {
			errs, err := r.b.Ack(callCtx, r.name, batch)
			if err == nil {
				for i, e := range errs {
					switch {
					case e == nil:
					case failures > 1:
						// The failed attempt may have been applied before
						// the connection broke; its token is then spent.
						r.conf.logger.Debug("redghost: retried acknowledgement refused; the first attempt may have applied",
							"queue", r.name, "id", batch[i].ID, "error", e)
					default:
						r.lockLost.Add(1)
						r.conf.logger.Warn("redghost: acknowledgement refused", "queue", r.name, "id", batch[i].ID, "error", e)
					}
				}
				break
			}
			r.backendErrors.Add(1)
			d := r.conf.errorBackoff(failures)
			r.conf.logger.Warn("redghost: acknowledgement failed", "queue", r.name, "messages", len(batch), "error", err, "retry_in", d)
			if !sleepCtx(ctx, d) {
				break
			}
		}
		r.nflight.Add(-int64(len(batch)))
	}
}

// extendLocks is the queue's part of one heartbeat: one ExtendLocks call
// for every lock it holds, if it holds any. Lost locks cancel their
// handlers' contexts with [ErrLockLost], cancelled messages with
// [ErrCanceled]. It answers refs, reused.
func (r *queueRunner) extendLocks(ctx context.Context, refs []LockRef) []LockRef {
	refs = refs[:0]
	r.flightMu.Lock()
	for _, f := range r.flights {
		refs = append(refs, f.ref)
	}
	r.flightMu.Unlock()
	if len(refs) == 0 {
		return refs
	}
	errs, err := r.b.ExtendLocks(ctx, r.name, refs)
	if err != nil {
		r.backendErrors.Add(1)
		r.conf.logger.Warn("redghost: lock heartbeat failed", "queue", r.name, "messages", len(refs), "error", err)
		return refs
	}
	var lost, canceled []LockRef
	var lostErrs []error
	for i, e := range errs {
		switch {
		case e == nil:
		case errors.Is(e, ErrCanceled):
			canceled = append(canceled, refs[i])
		case isLockLost(e):
			lost, lostErrs = append(lost, refs[i]), append(lostErrs, e)
		default:
			r.conf.logger.Warn("redghost: lock extension refused", "queue", r.name, "id", refs[i].ID, "error", e)
		}
	}
	if len(lost) > 0 {
		r.lostLocks(lost, lostErrs)
	}
	if len(canceled) > 0 {
		r.cancelHandlings(canceled)
	}
	return refs
}

// monitorOnce reads the queue's size and reports it: to the monitor
// callback if there is one, else as a warning when the queue holds more
// than 1000 messages, at most every 6 hours.
func (r *queueRunner) monitorOnce(ctx context.Context) {
	st, err := r.b.QueueStats(ctx, r.name)
	if err == nil {
		r.queueSize.Store(st.Total)
		r.oldestReady.Store(int64(st.OldestReady))
	}
	if r.conf.monitor != nil {
		r.conf.monitor(MonitorInfo{Queue: r.name, QueueSize: st.Total, Stats: st, Err: err})
		return
	}
	now := r.conf.clock.Now()
	if err == nil && st.Total > 1000 && (r.lastWarn.IsZero() || now.Sub(r.lastWarn) >= 6*time.Hour) {
		r.lastWarn = now
		r.conf.logger.Warn("redghost: queue is growing", "queue", r.name, "size", st.Total)
	}
}

// every calls fn every interval of clk until done is closed or ctx ends.
func every(ctx context.Context, clk Clock, done <-chan struct{}, interval time.Duration, fn func()) {
	t := newTicker(clk, interval)
	defer t.Stop()
	for {
		select {
		case <-t.C():
			fn()
		case <-done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// errorBackoff is the wait after failures consecutive backend errors.
func (c *workerConfig) errorBackoff(failures int) time.Duration {
	d := c.errMin << min(failures-1, 30)
	if d <= 0 || d > c.errMax {
		d = c.errMax
	}
	// Full jitter on the upper half keeps many workers from retrying in step.
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
