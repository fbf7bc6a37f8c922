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

// openPeriod is the breakers' open timeout in these tests: gobreaker's
// clock is the real one, so it is short.
const openPeriod = 50 * time.Millisecond

// transitions records state changes as "from->to".
type transitions struct {
	mu  sync.Mutex
	log []string
}

func (tr *transitions) record(name string, from, to gobreaker.State) {
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

func tripAfter(n uint32) middleware.BreakerOption {
	return middleware.WithReadyToTrip(func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= n })
}

func TestBreakerOpensRejectsAndCloses(t *testing.T) {
	var tr transitions
	dep := &dependency{}
	dep.set(core.Fail(errors.New("db down")))
	h := middleware.CircuitBreaker(
		middleware.WithBreakerName("db"),
		middleware.WithOpenTimeout(openPeriod),
		tripAfter(3),
		middleware.WithOnStateChange(tr.record),
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

func TestBreakerCountsTimeoutsNotOtherRetries(t *testing.T) {
	dep := &dependency{}
	h := middleware.CircuitBreaker(middleware.WithOpenTimeout(time.Hour), tripAfter(2))(dep)

	dep.set(core.RetryErr(0, errors.New("rate limited, try later")))
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

// Timeout inside the breaker: a hanging dependency opens it.
func TestBreakerOpensOnTimeouts(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := middleware.Chain(
		middleware.CircuitBreaker(middleware.WithOpenTimeout(time.Hour), tripAfter(2)),
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
	h := middleware.CircuitBreaker(middleware.WithOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithOnStateChange(tr.record))(dep)

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
	h := middleware.CircuitBreaker(middleware.WithOpenTimeout(openPeriod), tripAfter(1),
		middleware.WithMaxRequests(2), middleware.WithBreakerBackoff(time.Minute))(
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
	h := middleware.CircuitBreaker(middleware.WithOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithIsFailure(notPoison))(dep)
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
		{[]middleware.BreakerOption{middleware.WithOpenTimeout(time.Minute), middleware.WithBreakerBackoff(time.Second)}, time.Minute},
		{[]middleware.BreakerOption{middleware.WithOpenTimeout(time.Minute), middleware.WithBreakerBackoff(time.Hour)}, time.Hour},
	} {
		dep := &dependency{}
		dep.set(core.Fail(errors.New("x")))
		h := middleware.CircuitBreaker(append(c.opts, tripAfter(1))...)(dep)
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
	h := middleware.CircuitBreaker(middleware.WithOpenTimeout(time.Hour), tripAfter(1),
		middleware.WithOnStateChange(a.record), middleware.WithOnStateChange(b.record))(dep)
	h.Handle(bg, msg("m", 1))
	if len(a.get()) != 1 || len(b.get()) != 1 {
		t.Fatalf("callbacks saw %v and %v", a.get(), b.get())
	}
}
