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

// Worker handles the messages of one queue with a bounded number of
// concurrent handlers.
//
// One polling loop takes batches (at most the max batch) in one backend call
// each; handlers run in a fixed pool of goroutines; one acknowledger sends
// outcomes in batches (what piles up while one acknowledgement is in flight
// goes in the next); a heartbeat extends the locks of every message the
// worker holds in one call. When the queue has nothing ready the loop blocks
// in [Backend.Wait], which an enqueue interrupts, so an idle worker costs
// next to nothing and still picks up new work within milliseconds; with a
// [WaitDequeuer] backend (Redis) the wait and the next dequeue are one
// call.
//
// While handlers are fast, the worker holds a few more messages than it has
// handlers (see [WithPrefetch]), so that batches stay full and round trips
// per message few; held messages are locked, heartbeated and handled before
// Stop returns, like the ones in the handlers.
//
// Queue control reaches it through the backend: a paused queue
// ([Queue.Pause]) is asked again once per wait cycle ([WithMaxWait]), with
// no wake-up calls in between; a message cancelled while the worker holds
// it ([Queue.Cancel]) is answered as such by the next heartbeat, which
// cancels its handler's context with cause [ErrCanceled]. The worker
// registers itself in the backend ([Inspector.Workers]) when it starts,
// refreshes the registration at every heartbeat tick (one small call per
// interval, busy or idle), and removes it when it stops; the registration
// expires after the lock duration, or three heartbeats if longer, so a
// crashed worker drops out by then.
type Worker struct {
	q   *Queue
	h   Handler
	cfg workerConfig

	mu      sync.Mutex
	started bool
	stopped chan struct{} // closed when everything has drained

	stopFetch  context.CancelFunc
	hardCancel context.CancelFunc
	ackCancel  context.CancelFunc // ends the acknowledger's retries

	closed bool // Stop was called; guarded by mu

	outstanding atomic.Int64   // taken and not yet handled
	freed       chan struct{}  // a handler finished (capacity 1)
	avgHandle   atomic.Int64   // moving average of handling time, ns
	work        chan *Delivery // into the batch slice a Dequeue answered
	acks        chan Ack
	flightMu    sync.Mutex
	inflight    map[lockKey]LockRef   // held and not yet acknowledged
	handlers    map[lockKey]*handling // picked up (or lost) and not yet released to an ack
	nflight     atomic.Int64

	queueing, handling *reservoir
	queueSize          atomic.Int64
	oldestReady        atomic.Int64 // time.Duration
	success, retry     atomic.Int64
	errorN, backoff    atomic.Int64
	sleeps, lockLost   atomic.Int64
	backendErrors      atomic.Int64
	canceled           atomic.Int64

	id        string    // the worker's id in the backend's registry
	startedAt time.Time // set by Start
}

type lockKey struct {
	id    string
	token uint64
}

// NewWorker returns a worker for q that hands each message to h. The
// options are checked here: an invalid one (or a nil queue or handler, or
// a queue name a backend would refuse) is an [*InvalidError] whose Field
// names it.
func NewWorker(q *Queue, h Handler, opts ...WorkerOption) (*Worker, error) {
	if q == nil || q.b == nil {
		return nil, invalid("queue", "nil queue or backend")
	}
	if err := ValidateQueueName(q.Name()); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, invalid("handler", "nil")
	}
	cfg := defaultWorkerConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := &Worker{q: q, h: h, cfg: cfg, id: NewID()}
	w.queueing = newReservoir(cfg.samples)
	w.handling = newReservoir(cfg.samples)
	return w, nil
}

// Start starts the worker and returns at once. ctx carries values to the
// handlers; its cancellation does not stop the worker: call [Worker.Stop]
// (or use [Worker.Run]). A worker starts once: Start on a running worker
// returns [ErrStarted], and on a stopped one [ErrClosed].
func (w *Worker) Start(ctx context.Context) error {
	if hc, ok := w.q.Backend().(HealthChecker); ok {
		if err := hc.CheckHealth(ctx, w.q.Name()); err != nil {
			return err
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.started {
		return ErrStarted
	}
	w.started = true
	w.stopped = make(chan struct{})
	w.inflight = make(map[lockKey]LockRef)
	w.handlers = make(map[lockKey]*handling)

	base := withBackendSystem(context.WithoutCancel(ctx), w.q.b)
	fetchCtx, stopFetch := context.WithCancel(base)
	hctx, hardCancel := context.WithCancel(base)
	ackCtx, ackCancel := context.WithCancel(base)
	w.stopFetch, w.hardCancel, w.ackCancel = stopFetch, hardCancel, ackCancel

	c := w.cfg.concurrency
	w.freed = make(chan struct{}, 1)
	w.work = make(chan *Delivery, c+w.cfg.prefetch)
	w.acks = make(chan Ack, c+w.cfg.prefetch)

	var handlers sync.WaitGroup
	for range c {
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			for d := range w.work {
				w.handle(hctx, d)
				w.outstanding.Add(-1)
				select {
				case w.freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	ackerDone := make(chan struct{})
	go func() { defer close(ackerDone); w.acknowledge(ackCtx) }()
	bgDone := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	w.startedAt = w.cfg.clock.Now()
	go func() { defer bg.Done(); w.register(hctx); w.heartbeat(hctx, bgDone); w.unregister(base) }()
	go func() { defer bg.Done(); w.monitor(hctx, bgDone) }()

	go func() {
		w.poll(fetchCtx)
		close(w.work)
		handlers.Wait()
		close(w.acks)
		<-ackerDone
		close(bgDone)
		bg.Wait()
		hardCancel()
		ackCancel()
		close(w.stopped)
	}()
	return nil
}

// Stop stops taking messages and waits until every in-flight handler has
// returned and its outcome has been acknowledged. If ctx ends first, Stop
// cancels the handlers' context and stops extending their locks, then
// waits at most the stop grace (see [WithStopGrace], default 1 s) for the
// handlers to return and their answers to be acknowledged, and returns
// ctx.Err(). A handler that still does not return loses its lock when it
// expires and its message is handled again elsewhere; its late answer is
// fenced off. No message is dropped either way.
//
// Stop on a worker that never started returns nil; either way the worker
// cannot be started again afterwards. Stop may be called more than once.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	started := w.started
	w.closed = true
	w.mu.Unlock()
	if !started {
		return nil
	}
	w.stopFetch()
	select {
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		w.drainAfterDeadline()
		return ctx.Err()
	}
}

// Run starts the worker, blocks until ctx is done, then stops it, waiting
// for in-flight handlers without a deadline. Use Start and Stop for a
// shutdown deadline.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return w.Stop(context.Background())
}

// Queue is the queue the worker handles.
func (w *Worker) Queue() *Queue { return w.q }

// Stats is a snapshot of the worker's statistics.
func (w *Worker) Stats() WorkerStats {
	w.mu.Lock()
	running := w.started && !w.closed
	w.mu.Unlock()
	return WorkerStats{
		Running:       running,
		QueueSize:     w.queueSize.Load(),
		OldestReady:   time.Duration(w.oldestReady.Load()),
		Queueing:      w.queueing.summary(),
		Handling:      w.handling.summary(),
		Success:       w.success.Load(),
		Retry:         w.retry.Load(),
		Error:         w.errorN.Load(),
		Backoff:       w.backoff.Load(),
		Sleeps:        w.sleeps.Load(),
		LockLost:      w.lockLost.Load(),
		BackendErrors: w.backendErrors.Load(),
		InFlight:      w.nflight.Load(),
		Canceled:      w.canceled.Load(),
	}
}

// poll takes batches while the worker has room for them, and waits for a
// wake-up when the queue has nothing more ready.
func (w *Worker) poll(ctx context.Context) {
	name := w.q.Name()
	// Dequeue runs on a context that shutdown does not cancel: a call cut
	// short after the backend locked messages would strand them until their
	// locks expire.
	callCtx := context.WithoutCancel(ctx)
	conc := int64(w.cfg.concurrency)
	failures := 0
	wd, _ := w.q.b.(WaitDequeuer)
	var wait time.Duration // > 0: wait for a wake-up before the next dequeue
	for {
		limit := conc + int64(w.prefetchWindow())
		out := w.outstanding.Load()
		room := limit - out
		// Wait for room; while every handler is busy, wait for room for
		// half a batch, so that batches stay large.
		if room < 1 || (out >= conc && room < max(1, min(int64(w.cfg.maxBatch), limit)/2)) {
			select {
			case <-w.freed:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		default:
		}
		n := int(min(int64(w.cfg.maxBatch), room))
		p := DequeueParams{Queue: name, Max: n, Lock: w.cfg.lock}
		var res DequeueResult
		var err error
		switch {
		case wait > 0 && wd != nil:
			res, err = wd.WaitDequeue(ctx, WaitDequeueParams{DequeueParams: p, Timeout: wait})
			if err != nil && ctx.Err() != nil {
				return // stopped before the wait began: nothing was taken
			}
		case wait > 0:
			if err = w.q.b.Wait(ctx, name, wait); err == nil {
				res, err = w.q.b.Dequeue(callCtx, p)
			} else if ctx.Err() != nil {
				return
			}
		default:
			res, err = w.q.b.Dequeue(callCtx, p)
		}
		wait = 0
		if err != nil {
			w.backendErrors.Add(1)
			failures++
			d := w.errorBackoff(failures)
			w.cfg.logger.Warn("redghost: dequeue failed", "queue", name, "error", err, "retry_in", d)
			if !sleepCtx(ctx, d) {
				return
			}
			continue
		}
		failures = 0
		if res.Paused {
			// Paused: ask again after a full wait cycle, without waiting
			// on wake-ups, which enqueues to the paused queue would send.
			w.sleeps.Add(1)
			if !sleepCtx(ctx, w.cfg.maxWait) {
				return
			}
			continue
		}
		got := len(res.Messages)
		w.outstanding.Add(int64(got))
		w.nflight.Add(int64(got))
		w.flightMu.Lock()
		for _, d := range res.Messages {
			w.inflight[lockKey{d.ID, d.Token}] = LockRef{ID: d.ID, Token: d.Token, Duration: d.LockDuration}
		}
		w.flightMu.Unlock()
		for i := range res.Messages {
			w.work <- &res.Messages[i]
		}
		if got < n {
			// A short batch: nothing more is ready now. Wait for an enqueue
			// (or the next due message) instead of asking again at once.
			w.sleeps.Add(1)
			wait = w.cfg.maxWait
			if res.NextDue > 0 && res.NextDue < wait {
				wait = res.NextDue
			}
		}
	}
}

// prefetchBudget is how much handling time, per handler, the worker may
// hold in messages taken ahead of its handlers.
const prefetchBudget = 20 * time.Millisecond

// prefetchWindow is how many messages the worker may hold beyond its busy
// handlers: none until a handling time is known, then as many as fit
// prefetchBudget per handler at the average handling time, at most the
// configured prefetch. Slow handlers get none, so they never hold messages
// that another worker could be handling.
func (w *Worker) prefetchWindow() int {
	avg := w.avgHandle.Load()
	if w.cfg.prefetch == 0 || avg <= 0 {
		return 0
	}
	per := int64(prefetchBudget) / avg
	return int(min(int64(w.cfg.prefetch), per*int64(w.cfg.concurrency)))
}

// handle runs the handler on the message of d, which only this call uses:
// the handler gets a pointer into the batch (no copy per message), and
// whatever it changes there cannot change the ack.
func (w *Worker) handle(ctx context.Context, d *Delivery) {
	id, token, attempt := d.ID, d.Token, d.Attempt
	hctx, end, ok := w.begin(ctx, lockKey{id, token})
	if !ok {
		return
	}
	if hctx == nil {
		// Cancelled before a handler picked it up: done, not handled.
		w.canceled.Add(1)
		w.acks <- Ack{ID: id, Token: token, Outcome: OutcomeSuccess}
		return
	}
	start := w.cfg.clock.Now()
	if d.Attempt == 1 {
		w.queueing.add(max(0, start.Sub(d.EnqueuedAt)))
	}
	res := w.call(hctx, &d.Message)
	canceled := end()
	took := w.cfg.clock.Now().Sub(start)
	w.handling.add(took)
	// A moving average over about the last eight handlings; races between
	// handlers only blur it.
	if avg := w.avgHandle.Load(); avg == 0 {
		w.avgHandle.Store(max(1, int64(took)))
	} else {
		w.avgHandle.Store(max(1, avg+(int64(took)-avg)/8))
	}

	a := Ack{ID: id, Token: token, Outcome: res.Outcome, Backoff: min(max(res.Backoff, 0), MaxDuration)}
	switch {
	case canceled && endsCanceled(res):
		// The message was cancelled: it is done, without a retry or a
		// dead letter (see Queue.Cancel).
		w.canceled.Add(1)
		a.Outcome, a.Backoff = OutcomeSuccess, 0
		w.acks <- a
		return
	}
	switch res.Outcome {
	case OutcomeSuccess:
		w.success.Add(1)
	case OutcomeRetry:
		w.retry.Add(1)
	default:
		w.errorN.Add(1)
		a.Outcome = OutcomeError
		a.Error = "error outcome without an error"
		if res.Err != nil {
			w.logPanic(ctx, id, attempt, res.Err)
			a.Error = deadLetterText(res.Err)
		} else if res.Outcome != OutcomeError {
			a.Error = fmt.Sprintf("unknown outcome %d", res.Outcome)
		}
	}
	if a.Backoff > 0 && a.Outcome != OutcomeError {
		w.backoff.Add(1)
	}
	w.acks <- a
}

// call runs the handler; a panic is an error outcome, never a crash.
func (w *Worker) call(ctx context.Context, m *Message) (res Result) {
	defer func() {
		if v := recover(); v != nil {
			res = Fail(NewPanicError(v))
		}
	}()
	return w.h.Handle(ctx, m)
}

// acknowledge sends outcomes in batches until the acks channel is closed
// and drained. It gives up on a failed batch only when ctx ends (the stop
// grace has passed): the messages then come back when their locks expire.
func (w *Worker) acknowledge(ctx context.Context) {
	name := w.q.Name()
	callCtx := context.WithoutCancel(ctx)
	batch := make([]Ack, 0, w.cfg.maxBatch)
	for a := range w.acks {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < w.cfg.maxBatch {
			select {
			case a, ok := <-w.acks:
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
		if batch = w.release(batch); len(batch) == 0 {
			continue
		}
		for failures := 1; ; failures++ {
			errs, err := w.q.b.Ack(callCtx, name, batch)
			if err == nil {
				for i, e := range errs {
					switch {
					case e == nil:
					case failures > 1:
						// The failed attempt may have been applied before
						// the connection broke; its token is then spent.
						w.cfg.logger.Debug("redghost: retried acknowledgement refused; the first attempt may have applied",
							"queue", name, "id", batch[i].ID, "error", e)
					default:
						w.lockLost.Add(1)
						w.cfg.logger.Warn("redghost: acknowledgement refused", "queue", name, "id", batch[i].ID, "error", e)
					}
				}
				break
			}
			w.backendErrors.Add(1)
			d := w.errorBackoff(failures)
			w.cfg.logger.Warn("redghost: acknowledgement failed", "queue", name, "messages", len(batch), "error", err, "retry_in", d)
			if !sleepCtx(ctx, d) {
				break
			}
		}
		w.nflight.Add(-int64(len(batch)))
	}
}

// heartbeat extends the locks of every in-flight message until done is
// closed or ctx (hard stop) ends.
func (w *Worker) heartbeat(ctx context.Context, done <-chan struct{}) {
	name := w.q.Name()
	var refs []LockRef
	w.every(ctx, done, w.cfg.heartbeat, func() {
		refs = refs[:0]
		w.flightMu.Lock()
		for _, r := range w.inflight {
			refs = append(refs, r)
		}
		w.flightMu.Unlock()
		w.register(ctx)
		if len(refs) == 0 {
			return
		}
		errs, err := w.q.b.ExtendLocks(ctx, name, refs)
		if err != nil {
			w.backendErrors.Add(1)
			w.cfg.logger.Warn("redghost: lock heartbeat failed", "queue", name, "messages", len(refs), "error", err)
			return
		}
		lost, lostErrs := refs[:0], errs[:0]
		var canceled []LockRef
		for i, e := range errs {
			switch {
			case e == nil:
			case errors.Is(e, ErrCanceled):
				canceled = append(canceled, refs[i])
			case isLockLost(e):
				lost, lostErrs = append(lost, refs[i]), append(lostErrs, e)
			default:
				w.cfg.logger.Warn("redghost: lock extension refused", "queue", name, "id", refs[i].ID, "error", e)
			}
		}
		if len(lost) > 0 {
			w.lostLocks(lost, lostErrs)
		}
		if len(canceled) > 0 {
			w.cancelHandlings(canceled)
		}
	})
}

// monitor reads the queue's size every interval and reports it.
func (w *Worker) monitor(ctx context.Context, done <-chan struct{}) {
	name := w.q.Name()
	var lastWarn time.Time
	w.every(ctx, done, w.cfg.monitorEvery, func() {
		st, err := w.q.b.QueueStats(ctx, name)
		if err == nil {
			w.queueSize.Store(st.Total)
			w.oldestReady.Store(int64(st.OldestReady))
		}
		info := MonitorInfo{Queue: name, QueueSize: st.Total, Stats: st, Err: err}
		if w.cfg.monitor != nil {
			w.cfg.monitor(info)
			return
		}
		now := w.cfg.clock.Now()
		if err == nil && st.Total > 1000 && (lastWarn.IsZero() || now.Sub(lastWarn) >= 6*time.Hour) {
			lastWarn = now
			w.cfg.logger.Warn("redghost: queue is growing", "queue", name, "size", st.Total)
		}
	})
}

// every calls fn every interval of the worker's clock until done is closed
// or ctx ends.
func (w *Worker) every(ctx context.Context, done <-chan struct{}, interval time.Duration, fn func()) {
	t := newTicker(w.cfg.clock, interval)
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

func (w *Worker) errorBackoff(failures int) time.Duration {
	d := w.cfg.errMin << min(failures-1, 30)
	if d <= 0 || d > w.cfg.errMax {
		d = w.cfg.errMax
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
