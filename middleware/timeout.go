package middleware

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redghost/redghost/core"
)

var (
	// ErrTimeout is matched by the error of every retry [Timeout] answers
	// for a handler that ran past its deadline. It is also the cause
	// (context.Cause) of the handler's context when the deadline passes.
	// [CircuitBreaker] counts it as a failure by default.
	ErrTimeout = classed("redghost: handler timed out", "timeout")

	// ErrTooManyAbandoned is the error of the retry [Timeout] answers
	// without starting the handler, because as many handlers as its bound
	// allows ran past their deadline and still have not returned (see
	// [WithTimeoutMaxAbandoned]). It matches [ErrTimeout], so a breaker counts it
	// as a failure and opens while a dependency is stuck.
	ErrTooManyAbandoned = fmt.Errorf("%w: too many abandoned handlers still running", ErrTimeout)
)

// DefaultMaxAbandoned is the default bound on a [Timeout]'s abandoned
// handlers.
const DefaultMaxAbandoned = 100

// TimeoutOption configures [Timeout].
type TimeoutOption func(*timeoutConfig)

type timeoutConfig struct {
	backoff      time.Duration
	grace        time.Duration
	graceSet     bool
	maxAbandoned int
	onLate       func(m *core.Message, res core.Result)
	inline       bool
}

// WithTimeoutBackoff sets the backoff of the retry answered for a handler
// past its deadline (default 0: as soon as a worker is free, or what an
// outer [Retry] computes). A backoff gives an abandoned handler time to
// finish before its message is handled again.
func WithTimeoutBackoff(d time.Duration) TimeoutOption {
	return func(c *timeoutConfig) { c.backoff = d }
}

// WithTimeoutGrace sets how long after the deadline a handler has to answer once
// its context is cancelled, before it is abandoned (default a tenth of the
// timeout, at most a second). An answer in the grace is used as described
// at [Timeout]; a handler that honours its context answers well within it.
func WithTimeoutGrace(d time.Duration) TimeoutOption {
	return func(c *timeoutConfig) { c.grace, c.graceSet = d, true }
}

// WithTimeoutMaxAbandoned bounds how many handlers that ran past their deadline
// and were abandoned may still be running (default [DefaultMaxAbandoned]).
// At the bound, Timeout answers a retry with [ErrTooManyAbandoned] without
// starting the handler, until one of them returns. The bound is per
// middleware instance: build the chain once per worker, or once for
// several workers that should share it.
func WithTimeoutMaxAbandoned(n int) TimeoutOption {
	return func(c *timeoutConfig) { c.maxAbandoned = n }
}

// WithTimeoutOnLateResult calls fn with the answer of an abandoned handler when it
// finally returns, on that handler's goroutine. The answer itself is
// discarded; fn is for logs and metrics. fn must not block for long.
func WithTimeoutOnLateResult(fn func(m *core.Message, res core.Result)) TimeoutOption {
	return func(c *timeoutConfig) { c.onLate = fn }
}

// WithTimeoutInline runs the handler on the worker's own goroutine when
// Timeout runs under a [core.Worker] or a [core.Pool], instead of handing
// each message to another goroutine: Timeout then adds about 0.2 µs per
// message instead of about 0.9 µs, and one allocation either way
// (BenchmarkTimeoutPerMessage in bench/, on a quiet 2-core VM).
//
// The price is paid only when a handler ignores its context past the
// grace and is abandoned: the middleware outside Timeout runs on the
// abandoned goroutine too, so it sees that handling's retry only when the
// handler finally returns, if ever, and what it answers then is dropped.
// For such a handling an outer [Retry] neither sets the backoff
// ([WithTimeoutBackoff] does) nor counts the attempt toward its limit, an
// outer [CircuitBreaker] counts the failure late, and logs, metrics and
// spans record it late. Use it when Timeout is the outermost middleware
// that matters for a stuck handler, or when handlers honour their context
// (they answer within the grace and go through the chain as usual); the
// default keeps the hand-off, so that everything outside Timeout sees a
// stuck handler's timeout at the deadline.
//
// Called outside a worker (directly, as in a test), Timeout hands off as
// without this option.
func WithTimeoutInline() TimeoutOption {
	return func(c *timeoutConfig) { c.inline = true }
}

// Timeout gives the handler d to answer. The handler's context gets a
// deadline whose cause is [ErrTimeout]. A message enqueued with a timeout
// of its own ([core.WithHandlingTimeout], seen as [core.Message.Timeout])
// gets that instead of d, shorter or longer; the grace, unless set with
// [WithTimeoutGrace], is then derived from it as from d.
//
// Policy:
//
//   - A handler that answers in time is answered as is.
//   - A handler that honours its context and answers anything but success
//     after the deadline is answered with a retry: its error, most likely
//     caused by the cancellation, is wrapped with [ErrTimeout]. A success
//     is kept, even late: the work was done.
//   - A handler that ignores cancellation is abandoned at the deadline
//     (after a short grace, see [WithTimeoutGrace]): the retry is answered
//     then (the message is not lost and not marked done; it is handled
//     again after the backoff) and the handler is left to finish. Its late
//     answer is discarded: the worker acknowledges each handling exactly
//     once, and that was the retry, so nothing the late handler says
//     changes the queue. What it did meanwhile (sent an email, wrote a row)
//     it did, so it may overlap with the message's next handling: honour
//     ctx, or make the work idempotent. At most [WithTimeoutMaxAbandoned]
//     abandoned handlers run per Timeout; at the bound, new messages are
//     answered with a retry without starting their handler, and a handler
//     that started before the bound was reached and then runs past its
//     deadline is waited for instead of abandoned. So a stuck dependency
//     cannot leak goroutines: at most the bound plus the worker's
//     concurrency handlers run at once.
//   - The worker's shutdown cancellation is not the deadline. When the
//     context Timeout is given ends first, the handler's context ends with
//     it (with that context's cause, not ErrTimeout) and Timeout keeps
//     waiting for its answer until the deadline, then abandons it as
//     above. A handler that honours the shutdown answers for itself
//     (usually a retry), and [CircuitBreaker] does not count the outcome.
//
// The handler runs on another goroutine than the caller's, so that the
// caller can answer at the deadline, and everything outside Timeout (an
// outer Retry, CircuitBreaker, logging, metrics, tracing) sees a stuck
// handler's timeout then; Timeout keeps those goroutines between handlings
// rather than starting one per message. One watchdog per Timeout cancels
// the handlers' contexts at their deadlines and gives up on them at the
// end of their grace: one timer for all the handlings of its duration,
// which end in the order they start (a message's own timeout has a timer
// of its own), and no context of the handler's is made until it asks for
// Done. The hand-off then costs about 0.9 µs per message on a quiet 2-core
// VM, nearly all of it the two goroutine switches; a handler that waits on
// Done adds its context's channel and timer (about 2 µs in all, 0.7 µs
// inline). Under a worker, [WithTimeoutInline] runs the handler on the
// worker's own goroutine instead, for about 0.2 µs, and the watchdog
// abandons a stuck handler
// through [core.Handling.Abandon]: the worker acknowledges the retry at
// once and a fresh goroutine takes the abandoned one's place, so the
// worker keeps its concurrency, and Stop does not wait for the abandoned
// handler. On both paths the handler's context ends at the deadline as
// one with a deadline does (Err is context.DeadlineExceeded, the cause
// ErrTimeout), and so do the contexts it derives; a handler that asks for
// Done, or derives a context, is the one that pays for a runtime timer.
//
// On either path a panic in the handler is turned into an error outcome
// with a [*core.PanicError], or discarded if the handler was abandoned.
//
// The deadline is real time (time.Now), not a [core.Clock]. A duration
// that is not positive, a bound below 1 or a negative grace or backoff is
// an [*core.InvalidError] whose Field names it ("d" for the duration).
func Timeout(d time.Duration, opts ...TimeoutOption) (core.Middleware, error) {
	cfg := timeoutConfig{maxAbandoned: DefaultMaxAbandoned}
	for _, o := range opts {
		o(&cfg)
	}
	if d <= 0 {
		return nil, invalidOption("d", "the timeout must be positive, got %s", d)
	}
	if cfg.maxAbandoned < 1 {
		return nil, invalidOption("WithTimeoutMaxAbandoned", "must be at least 1, got %d", cfg.maxAbandoned)
	}
	if !cfg.graceSet {
		cfg.grace = min(d/10, time.Second)
	}
	if cfg.grace < 0 {
		return nil, invalidOption("WithTimeoutGrace", "must not be negative, got %s", cfg.grace)
	}
	if cfg.backoff < 0 {
		return nil, invalidOption("WithTimeoutBackoff", "must not be negative, got %s", cfg.backoff)
	}
	t := &timeouter{d: d, cfg: cfg, cause: fmt.Errorf("%w after %s", ErrTimeout, d)}
	t.watch.t = t
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			return t.handle(ctx, next, m)
		})
	}, nil
}

// invalidOption is the configuration error of a middleware constructor
// (see the configuration rule in package core's documentation).
func invalidOption(option, format string, args ...any) error {
	return &core.InvalidError{Field: option, Reason: fmt.Sprintf(format, args...)}
}

type timeouter struct {
	d         time.Duration
	cfg       timeoutConfig
	cause     error
	abandoned atomic.Int64
	watch     watchdog   // the deadlines of both paths (timeout_watch.go)
	runners   runnerPool // the hand-off's goroutines
}

// States of one handling.
const (
	running int32 = iota
	finished
	abandoned
)

func (t *timeouter) handle(ctx context.Context, next core.Handler, m *core.Message) core.Result {
	if t.abandoned.Load() >= int64(t.cfg.maxAbandoned) {
		return core.RetryErr(t.cfg.backoff, ErrTooManyAbandoned)
	}
	if t.cfg.inline {
		if h := core.HandlingOf(ctx); h != nil {
			return t.handleWatched(ctx, next, m, h)
		}
	}
	return t.handOff(ctx, next, m)
}

// handOff is handle's path that runs next on a runner, another goroutine:
// the caller returns at the deadline + grace with a timeout retry even if
// the handler has not. The deadline and the end of the grace are the
// watchdog's, as on the inline path (one timer for all the handlings,
// and a handler context that makes a channel only if asked for Done).
// With a deadline context, a timer and the channels of both per message,
// the hand-off cost 1.9-2.3 µs and 8 allocations where it now costs
// 0.8-0.9 µs and one (BenchmarkTimeoutPerMessage, over the handler
// alone).
func (t *timeouter) handOff(ctx context.Context, next core.Handler, m *core.Message) core.Result {
	d, cause, grace, own := t.limits(m)
	r, fresh := t.runners.get(t)
	w := &watched{parent: ctx, cause: cause, grace: grace, wake: r.wake}
	t.watch.watch(w, d, own)
	r.run(w, next, m, fresh)
	select {
	case res := <-r.out:
		return t.handedBack(w, r, res)
	case <-r.wake:
	}
	// The watchdog gave up on the handling at the end of its grace, and
	// reserved a place among the abandoned for it.
	if !r.state.CompareAndSwap(running, abandoned) {
		// It has just returned after all.
		t.abandoned.Add(-1)
		res := t.finish(w, cause, w.deadline, <-r.out)
		w.close()
		return res
	}
	w.close()
	return t.abandonedRetry(w)
}

// handedBack ends the watch of w, whose runner r answered res in time (or
// was waited for, the bound of abandoned handlers being reached).
func (t *timeouter) handedBack(w *watched, r *runner, res core.Result) core.Result {
	if t.watch.leave(w) {
		// The watchdog gave up on it as it returned: the answer is here,
		// so it is not abandoned after all. The watchdog's wake comes
		// (once) even so; taken here, it cannot reach the runner's next
		// handling.
		t.abandoned.Add(-1)
		<-r.wake
	}
	res = t.finish(w, w.cause, w.deadline, res)
	w.close()
	return res
}

// limits are m's timeout, the cause its deadline ends the handler's
// context with and its grace: this Timeout's, or those of the message's
// own timeout (core.WithHandlingTimeout), then own is true.
func (t *timeouter) limits(m *core.Message) (d time.Duration, cause error, grace time.Duration, own bool) {
	if m.Timeout <= 0 || m.Timeout == t.d {
		return t.d, t.cause, t.cfg.grace, false
	}
	d, cause, grace = m.Timeout, fmt.Errorf("%w after %s", ErrTimeout, m.Timeout), t.cfg.grace
	if !t.cfg.graceSet {
		grace = min(d/10, time.Second)
	}
	return d, cause, grace, true
}

// runnerIdle is how long a runner may wait for its next handling before
// its goroutine ends.
const runnerIdle = 100 * time.Millisecond

// runnerPool keeps the goroutines that ran handlings and wait for the
// next, so that a handling hands its message to a waiting goroutine instead
// of starting one. The handler cannot run on the caller's goroutine: at
// the deadline, the caller must be able to answer while a handler that
// ignores cancellation runs on. The pool holds at most as many runners as
// handlings ran at once (the worker's concurrency, plus the abandoned
// handlers); one timer per pool ends those idle for about runnerIdle.
type runnerPool struct {
	mu      sync.Mutex
	idle    []*runner // in the order they were parked
	reaping bool      // a reap is scheduled
}

// runner is one goroutine of a runnerPool, running one handling at a time.
// The caller hands it a handling by setting its fields and sending on in.
type runner struct {
	t     *timeouter
	in    chan bool        // true: a handling is set; false: end
	out   chan core.Result // the answer, unless abandoned; buffered
	wake  chan struct{}    // the watchdog gave up on the handling; buffered
	state atomic.Int32     // running, finished or abandoned

	// The handling in progress; set by the caller before in, read by the
	// runner after it.
	ctx  context.Context
	next core.Handler
	m    *core.Message

	started time.Time // of the last handling; guarded by the pool's mu
}

// get answers a runner for a handling: a parked one if any, else a fresh
// one, whose goroutine run starts.
func (p *runnerPool) get(t *timeouter) (r *runner, fresh bool) {
	now := time.Now()
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		r = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		r.started = now
	}
	p.mu.Unlock()
	if r == nil {
		return &runner{t: t, in: make(chan bool, 1), out: make(chan core.Result, 1), wake: make(chan struct{}, 1), started: now}, true
	}
	return r, false
}

// run hands r the handling: next on m with ctx; a fresh runner's goroutine
// starts with it.
func (r *runner) run(ctx context.Context, next core.Handler, m *core.Message, fresh bool) {
	r.ctx, r.next, r.m = ctx, next, m
	r.state.Store(running)
	if fresh {
		go r.loop()
		return
	}
	r.in <- true
}

func (r *runner) loop() {
	for {
		m := r.m
		res := r.t.call(r.ctx, r.next, m)
		r.ctx, r.next, r.m = nil, nil, nil
		if r.state.CompareAndSwap(running, finished) {
			r.out <- res
		} else {
			// Abandoned: the answer was a retry already.
			r.t.abandoned.Add(-1)
			if r.t.cfg.onLate != nil {
				r.t.cfg.onLate(m, res)
			}
		}
		r.t.runners.park(r)
		if !<-r.in {
			return
		}
	}
}

// park puts r at the end of the idle list.
func (p *runnerPool) park(r *runner) {
	p.mu.Lock()
	p.idle = append(p.idle, r)
	if !p.reaping {
		p.reaping = true
		time.AfterFunc(runnerIdle, p.reap)
	}
	p.mu.Unlock()
}

// reap ends the runners whose last handling started runnerIdle ago or
// more and that are idle, and schedules itself again while any are idle.
func (p *runnerPool) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := time.Now().Add(-runnerIdle)
	n := 0
	for n < len(p.idle) && !p.idle[n].started.After(old) {
		p.idle[n].in <- false
		n++
	}
	p.idle = slices.Delete(p.idle, 0, n)
	if len(p.idle) == 0 {
		p.reaping = false
		return
	}
	time.AfterFunc(runnerIdle, p.reap)
}

// reserve counts one more abandoned handler, unless that would pass the bound.
func (t *timeouter) reserve() bool {
	for {
		n := t.abandoned.Load()
		if n >= int64(t.cfg.maxAbandoned) {
			return false
		}
		if t.abandoned.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// call runs the handler, turning a panic into an error outcome, on either
// path, so that the middleware around Timeout sees the same answers on
// both (and a late panic goes to the late callback).
func (t *timeouter) call(ctx context.Context, next core.Handler, m *core.Message) (res core.Result) {
	defer func() {
		if v := recover(); v != nil {
			res = core.Fail(core.NewPanicError(v))
		}
	}()
	return next.Handle(ctx, m)
}

// finish answers res, or a timeout retry in its place when the deadline
// passed and res is not a success.
func (t *timeouter) finish(tctx context.Context, cause error, deadline time.Time, res core.Result) core.Result {
	if res.Outcome == core.OutcomeSuccess || !expired(tctx, cause, deadline) {
		return res
	}
	err := cause
	if res.Err != nil && !errors.Is(res.Err, ErrTimeout) {
		err = fmt.Errorf("%w: %w", cause, res.Err)
	} else if res.Err != nil {
		err = res.Err
	}
	return core.RetryErr(t.cfg.backoff, err)
}

// expired tells whether this Timeout's own deadline, whose cause is
// cause, has passed.
func expired(tctx context.Context, cause error, deadline time.Time) bool {
	return context.Cause(tctx) == cause || !time.Now().Before(deadline)
}
