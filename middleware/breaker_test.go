package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"github.com/sony/gobreaker/v2"
)

// openPeriod is the breakers' open timeout in these tests. gobreaker reads
// time.Now itself and takes no clock, so the tests that see a breaker go
// half-open wait this short real period; the others use an hour.
const openPeriod = 50 * time.Millisecond

// transitions records state changes as "from->to".
type transitions struct {
	mu  sync.Mutex
	log []string
}

func (tr *transitions) record(name string, from, to middleware.BreakerState) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.log = append(tr.log, fmt.Sprintf("%s:%s->%s", name, from, to))
}

func (tr *transitions) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.log)
}

// dependency is a handler whose answer the test sets.
type dependency struct {
	calls  atomic.Int64
	answer atomic.Pointer[core.Result]
}

func (d *dependency) set(r core.Result) { d.answer.Store(&r) }

func (d *dependency) Handle(ctx context.Context, m *core.Message) core.Result {
	d.calls.Add(1)
	return *d.answer.Load()
}

// breaker builds a CircuitBreaker the test's options must make.
func breaker(t testing.TB, opts ...middleware.BreakerOption) core.Middleware {
	t.Helper()
	mw, err := middleware.CircuitBreaker(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

func tripAfter(n uint32) middleware.BreakerOption {
	return middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= n })
}

func TestBreakerOpensRejectsAndCloses(t *testing.T) {
	var tr transitions
	dep := &dependency{}
	dep.set(core.Fail(errors.New("db down")))
	h := breaker(t,
		middleware.WithBreakerName("db"),
		middleware.WithBreakerOpenTimeout(openPeriod),
		tripAfter(3),
		middleware.WithBreakerOnStateChange(tr.record),
	)(dep)

	for i := range 3 {
		if res := h.Handle(bg, msg("m", i+1)); res.Outcome != core.OutcomeError {
			t.Fatalf("handling %d while closed: %v", i, res)
		}
	}
	// Open: answered without the handler, with a retry no shorter than
	// the open period.
	res := h.Handle(bg, msg("m", 4))
	if dep.calls.Load() != 3 {
		t.Fatalf("handler called %d times, want 3 (not while open)", dep.calls.Load())
	}
	if res.Outcome != core.OutcomeRetry || res.Backoff < openPeriod ||
		!errors.Is(res.Err, middleware.ErrBreakerOpen) || !errors.Is(res.Err, gobreaker.ErrOpenState) {
		t.Fatalf("while open got %v, want retry >= %s with ErrBreakerOpen", res, openPeriod)
	}

	// Half-open after the open period: a failing probe opens it again.
	time.Sleep(openPeriod + 10*time.Millisecond)
	if res := h.Handle(bg, msg("m", 5)); res.Outcome != core.OutcomeError {
		t.Fatalf("probe got %v", res)
	}
	if res := h.Handle(bg, msg("m", 6)); !errors.Is(res.Err, middleware.ErrBreakerOpen) {
		t.Fatalf("after a failed probe got %v, want a rejection", res)
	}

	// The dependency recovers: the next probe closes it.
	dep.set(core.Success())
	time.Sleep(openPeriod + 10*time.Millisecond)
	for i := range 3 {
		if res := h.Handle(bg, msg("n", i+1)); res.Outcome != core.OutcomeSuccess {
			t.Fatalf("after recovery got %v", res)
		}
	}
	want := []string{"db:closed->open", "db:open->half-open", "db:half-open->open",
		"db:open->half-open", "db:half-open->closed"}
	if got := tr.get(); !slices.Equal(got, want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
}

// A retry without an error (not yet, try later) is not a failure; a retry
// that carries one is.
func TestBreakerCountsRetriesWithAnError(t *testing.T) {
	dep := &dependency{}
	h := breaker(t, middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(2))(dep)

	dep.set(core.Retry(time.Second))
	for i := range 5 {
		h.Handle(bg, msg("m", i+1))
	}
	dep.set(core.RetryErr(0, fmt.Errorf("%w after 1s", middleware.ErrTimeout)))
	h.Handle(bg, msg("m", 6))
	h.Handle(bg, msg("m", 7))
	if res := h.Handle(bg, msg("m", 8)); !errors.Is(res.Err, middleware.ErrBreakerOpen) {
		t.Fatalf("after two timeouts got %v, want the breaker open", res)
	}
	if n := dep.calls.Load(); n != 7 {
		t.Fatalf("handler called %d times, want 7", n)
	}
}

// The README's mailer: a handler that answers core.RetryErr when its SMTP
// server is down. With the default options, forty messages to the dead
// server open the breaker after the sixth failure, and the dependency is
// left alone from then on.
func TestBreakerOpensOnDeadDependencyAnsweringRetryErr(t *testing.T) {
	var tr transitions
	dep := &dependency{}
	dep.set(core.RetryErr(time.Second, errors.New("smtp: connection refused")))
	h := breaker(t, middleware.WithBreakerName("smtp"), middleware.WithBreakerOnStateChange(tr.record))(dep)
	rejected := 0
	for i := range 40 {
		if res := h.Handle(bg, msg(fmt.Sprint("mail-", i), 1)); errors.Is(res.Err, middleware.ErrBreakerOpen) {
			rejected++
		}
	}
	if got := tr.get(); !slices.Equal(got, []string{"smtp:closed->open"}) {
		t.Fatalf("transitions %v, want the breaker open", got)
	}
	if n := dep.calls.Load(); n != 6 || rejected != 34 {
		t.Fatalf("the dead server was called %d times and %d messages rejected; want 6 and 34", n, rejected)
	}
}

// A rejection by another breaker inside this one says nothing about this
// breaker's dependency: it counts neither as a failure nor as a success,
// whatever the failure predicate says.
func TestBreakerIgnoresInnerBreakerRejections(t *testing.T) {
	var tr transitions
	dep := &dependency{}
	dep.set(core.Fail(errors.New("down")))
	inner := breaker(t, middleware.WithBreakerName("inner"), middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(1))
	outer := breaker(t, middleware.WithBreakerName("outer"), middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithBreakerOnStateChange(tr.record),
		middleware.WithBreakerIsFailure(func(context.Context, core.Result) bool { return true }))
	// The inner breaker opens on its own first failure, seen by the outer
	// one only through a handler it does not wrap.
	inner(dep).Handle(bg, msg("first", 1))
	h := outer(inner(dep))
	for i := range 5 {
		if res := h.Handle(bg, msg("m", i+1)); !errors.Is(res.Err, middleware.ErrBreakerOpen) {
			t.Fatalf("got %v, want the inner breaker's rejection", res)
		}
	}
	if got := tr.get(); len(got) != 0 {
		t.Fatalf("inner rejections changed the outer breaker: %v", got)
	}
	if middleware.DefaultIsFailure(bg, core.RetryErr(time.Minute, middleware.ErrBreakerOpen)) {
		t.Errorf("DefaultIsFailure counts a breaker rejection as a failure")
	}
}

func TestBreakerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		opt   middleware.BreakerOption
		field string
	}{
		{middleware.WithBreakerName(""), "WithBreakerName"},
		{middleware.WithBreakerInterval(-time.Second), "WithBreakerInterval"},
		{middleware.WithBreakerOpenTimeout(-time.Second), "WithBreakerOpenTimeout"},
		{middleware.WithBreakerBackoff(-time.Second), "WithBreakerBackoff"},
		{middleware.WithBreakerReadyToTrip(nil), "WithBreakerReadyToTrip"},
		{middleware.WithBreakerOnStateChange(nil), "WithBreakerOnStateChange"},
		{middleware.WithBreakerIsFailure(nil), "WithBreakerIsFailure"},
		{nil, "CircuitBreaker"},
	} {
		mw, err := middleware.CircuitBreaker(middleware.WithBreakerName("ok"), tc.opt)
		var ie *core.InvalidError
		if mw != nil || !errors.Is(err, core.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("option for %s: middleware %v, err %v; want an invalid-input error naming %s", tc.field, mw != nil, err, tc.field)
		}
	}
}

func TestBreakerStateStrings(t *testing.T) {
	for s, want := range map[middleware.BreakerState]string{
		middleware.BreakerClosed: "closed", middleware.BreakerHalfOpen: "half-open", middleware.BreakerOpen: "open",
		middleware.BreakerState(7): "BreakerState(7)",
	} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
}

// Timeout inside the breaker: a hanging dependency opens it.
func TestBreakerOpensOnTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := middleware.Chain(
		breaker(t, middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(2)),
		mustTimeout(t, tick),
	)(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		<-release
		return core.Success()
	}))
	h.Handle(bg, msg("a", 1))
	h.Handle(bg, msg("b", 1))
	if res := h.Handle(bg, msg("c", 1)); !errors.Is(res.Err, middleware.ErrBreakerOpen) {
		t.Fatalf("got %v, want the breaker open after two timeouts", res)
	}
}

func TestBreakerIgnoresShutdown(t *testing.T) {
	var tr transitions
	dep := &dependency{}
	dep.set(core.Fail(errors.New("interrupted")))
	h := breaker(t, middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithBreakerOnStateChange(tr.record))(dep)

	ctx, cancel := context.WithCancel(bg)
	cancel() // the worker's shutdown
	for i := range 5 {
		h.Handle(ctx, msg("m", i+1))
	}
	if got := tr.get(); len(got) != 0 {
		t.Fatalf("shutdown outcomes changed the breaker: %v", got)
	}

	// A context ended by a Timeout deadline is not a shutdown.
	tctx, tcancel := context.WithTimeoutCause(bg, time.Nanosecond, middleware.ErrTimeout)
	defer tcancel()
	<-tctx.Done()
	h.Handle(tctx, msg("m", 6))
	if got := tr.get(); !slices.Equal(got, []string{"redghost:closed->open"}) {
		t.Fatalf("transitions %v, want the deadline's failure to open it", got)
	}
}

func TestBreakerHalfOpenLetsMaxRequestsThrough(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{}, 4)
	var failing atomic.Bool
	failing.Store(true)
	h := breaker(t, middleware.WithBreakerOpenTimeout(openPeriod), tripAfter(1),
		middleware.WithBreakerMaxRequests(2), middleware.WithBreakerBackoff(time.Minute))(
		handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			if failing.Load() {
				return core.Fail(errors.New("down"))
			}
			entered <- struct{}{}
			<-block
			return core.Success()
		}))
	h.Handle(bg, msg("m", 1))
	failing.Store(false)
	time.Sleep(openPeriod + 10*time.Millisecond)

	results := make(chan core.Result, 2)
	for i := range 2 {
		go func() { results <- h.Handle(bg, msg("probe", i)) }()
	}
	within(t, time.Second, entered, "probe 1")
	within(t, time.Second, entered, "probe 2")
	res := h.Handle(bg, msg("third", 1))
	if !errors.Is(res.Err, middleware.ErrBreakerOpen) || !errors.Is(res.Err, gobreaker.ErrTooManyRequests) || res.Backoff != time.Minute {
		t.Fatalf("third while half-open got %v, want a rejection after 1m", res)
	}
	close(block)
	for range 2 {
		if r := within(t, time.Second, results, "probe result"); r.Outcome != core.OutcomeSuccess {
			t.Fatalf("probe got %v", r)
		}
	}
	if res := h.Handle(bg, msg("after", 1)); res.Outcome != core.OutcomeSuccess {
		t.Fatalf("after two successful probes got %v, want closed", res)
	}
}

func TestBreakerCustomFailurePredicate(t *testing.T) {
	dep := &dependency{}
	var decodeErr = &core.DecodeError{Queue: "q", ID: "m", Type: "T", Err: errors.New("bad json")}
	dep.set(core.Fail(decodeErr))
	notPoison := func(ctx context.Context, res core.Result) bool {
		var de *core.DecodeError
		return middleware.DefaultIsFailure(ctx, res) && !errors.As(res.Err, &de)
	}
	h := breaker(t, middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithBreakerIsFailure(notPoison))(dep)
	for i := range 5 {
		if res := h.Handle(bg, msg("m", i+1)); res.Outcome != core.OutcomeError {
			t.Fatalf("got %v: poison messages opened the breaker", res)
		}
	}
}

func TestBreakerBackoffIsNoShorterThanTheOpenTimeout(t *testing.T) {
	for _, c := range []struct {
		opts []middleware.BreakerOption
		want time.Duration
	}{
		{nil, middleware.DefaultBreakerOpenTimeout},
		{[]middleware.BreakerOption{middleware.WithBreakerOpenTimeout(time.Minute), middleware.WithBreakerBackoff(time.Second)}, time.Minute},
		{[]middleware.BreakerOption{middleware.WithBreakerOpenTimeout(time.Minute), middleware.WithBreakerBackoff(time.Hour)}, time.Hour},
	} {
		dep := &dependency{}
		dep.set(core.Fail(errors.New("x")))
		h := breaker(t, append(c.opts, tripAfter(1))...)(dep)
		h.Handle(bg, msg("m", 1))
		if res := h.Handle(bg, msg("m", 2)); res.Backoff != c.want {
			t.Errorf("backoff %s, want %s", res.Backoff, c.want)
		}
	}
}

func TestBreakerStateCallbacksAddUp(t *testing.T) {
	var a, b transitions
	dep := &dependency{}
	dep.set(core.Fail(errors.New("x")))
	h := breaker(t, middleware.WithBreakerOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithBreakerOnStateChange(a.record), middleware.WithBreakerOnStateChange(b.record))(dep)
	h.Handle(bg, msg("m", 1))
	if len(a.get()) != 1 || len(b.get()) != 1 {
		t.Fatalf("callbacks saw %v and %v", a.get(), b.get())
	}
}
