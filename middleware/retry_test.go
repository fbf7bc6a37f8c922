package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"github.com/sony/gobreaker/v2"
)

// top always draws the top of the jitter range; bottom the bottom.
func top(n int64) int64    { return n - 1 }
func bottom(n int64) int64 { return 0 }

func TestRetryBackoffIsExponentialWithFullJitter(t *testing.T) {
	retry := handlerFunc(func(context.Context, *core.Message) core.Result { return core.Retry(0) })
	h := mustRetry(t, middleware.WithRetryBackoff(100*time.Millisecond, time.Second),
		middleware.WithRetryMaxAttempts(100), middleware.WithRetryJitter(top))(retry)
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if res := h.Handle(bg, msg("m", i+1)); res.Outcome != core.OutcomeRetry || res.Backoff != w*time.Millisecond {
			t.Fatalf("attempt %d: got %v, want retry after %s", i+1, res, w*time.Millisecond)
		}
	}
	// Far attempts do not overflow.
	if res := h.Handle(bg, msg("m", 99)); res.Backoff != time.Second {
		t.Fatalf("attempt 99: backoff %s", res.Backoff)
	}
	h = mustRetry(t, middleware.WithRetryJitter(bottom))(retry)
	if res := h.Handle(bg, msg("m", 3)); res.Backoff != 0 {
		t.Fatalf("bottom of the jitter: backoff %s, want 0", res.Backoff)
	}
	// The default jitter stays in range.
	h = mustRetry(t, middleware.WithRetryBackoff(time.Second, time.Minute))(retry)
	for range 100 {
		if res := h.Handle(bg, msg("m", 3)); res.Backoff < 0 || res.Backoff > 4*time.Second {
			t.Fatalf("attempt 3: backoff %s outside [0, 4s]", res.Backoff)
		}
	}
}

func TestRetryKeepsABackoffChosenInside(t *testing.T) {
	h := mustRetry(t, middleware.WithRetryJitter(top))(handlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Retry(42 * time.Second) // e.g. a Retry-After
	}))
	if res := h.Handle(bg, msg("m", 1)); res.Backoff != 42*time.Second {
		t.Fatalf("backoff %s, want the handler's 42s", res.Backoff)
	}
}

func TestRetryExhaustsIntoAnError(t *testing.T) {
	last := errors.New("smtp 451")
	h := mustRetry(t, middleware.WithRetryMaxAttempts(3))(handlerFunc(func(context.Context, *core.Message) core.Result {
		return core.RetryErr(0, last)
	}))
	for a := 1; a < 3; a++ {
		if res := h.Handle(bg, msg("m", a)); res.Outcome != core.OutcomeRetry {
			t.Fatalf("attempt %d: %v", a, res)
		}
	}
	res := h.Handle(bg, msg("m", 3))
	if res.Outcome != core.OutcomeError || !errors.Is(res.Err, middleware.ErrRetriesExhausted) || !errors.Is(res.Err, last) {
		t.Fatalf("last attempt: got %v, want an error matching ErrRetriesExhausted and the last error", res)
	}
	var ee *middleware.ExhaustedError
	if !errors.As(res.Err, &ee) || ee.Attempts != 3 {
		t.Fatalf("error %#v", res.Err)
	}
	if got, want := res.Err.Error(), "redghost: retries exhausted after 3 attempts: smtp 451"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
}

func TestRetryPassesSuccessAndErrorThrough(t *testing.T) {
	for _, r := range []core.Result{core.Success(), core.SuccessWithBackoff(time.Hour), core.Fail(errors.New("bad"))} {
		h := mustRetry(t, middleware.WithRetryMaxAttempts(1))(handlerFunc(func(context.Context, *core.Message) core.Result { return r }))
		if got := h.Handle(bg, msg("m", 5)); got != r {
			t.Fatalf("got %v, want %v unchanged", got, r)
		}
	}
}

func TestRetryDoesNotExhaustAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	h := mustRetry(t, middleware.WithRetryMaxAttempts(1))(handlerFunc(func(ctx context.Context, _ *core.Message) core.Result {
		return core.RetryErr(0, ctx.Err())
	}))
	if res := h.Handle(ctx, msg("m", 1)); res.Outcome != core.OutcomeRetry {
		t.Fatalf("got %v: a shutdown dead-lettered the message", res)
	}
}

// rejection is the answer a breaker gives while open.
var rejection = core.RetryErr(time.Minute, fmt.Errorf("%w: %w", middleware.ErrBreakerOpen, gobreaker.ErrOpenState))

// Handlings a breaker rejected do not count: the message gets its full
// attempts of real handling, and the handler sees the real count.
func TestRetryDoesNotCountBreakerRejections(t *testing.T) {
	var script []core.Result // what the inner chain answers, in turn
	var seen []int           // the Attempt the handler saw, per real call
	inner := handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		r := script[0]
		script = script[1:]
		if r.Err == nil || !errors.Is(r.Err, middleware.ErrBreakerOpen) {
			seen = append(seen, m.Attempt)
		}
		return r
	})
	h := mustRetry(t, middleware.WithRetryMaxAttempts(3))(inner)
	fail := core.RetryErr(0, errors.New("busy"))
	script = []core.Result{fail, rejection, rejection, fail, rejection, fail}
	m := msg("m", 0)
	var res core.Result
	for range len(script) {
		m = m.Clone()
		m.Attempt++ // as the backend counts
		res = h.Handle(bg, m)
	}
	if m.Attempt != 6 {
		t.Fatalf("backend attempt %d", m.Attempt)
	}
	if res.Outcome != core.OutcomeError || !errors.Is(res.Err, middleware.ErrRetriesExhausted) {
		t.Fatalf("after 3 real attempts got %v, want exhausted", res)
	}
	var ee *middleware.ExhaustedError
	if errors.As(res.Err, &ee); ee.Attempts != 3 {
		t.Fatalf("counted %d attempts, want 3", ee.Attempts)
	}
	if fmt.Sprint(seen) != "[1 2 3]" {
		t.Fatalf("handler saw attempts %v, want [1 2 3]", seen)
	}
}

func TestRetryLetsRejectionsThroughUnchanged(t *testing.T) {
	h := mustRetry(t, middleware.WithRetryMaxAttempts(1))(handlerFunc(func(context.Context, *core.Message) core.Result {
		return rejection
	}))
	for a := 1; a <= 5; a++ {
		if res := h.Handle(bg, msg("m", a)); res.Outcome != core.OutcomeRetry || res.Backoff != time.Minute {
			t.Fatalf("attempt %d: got %v, want the breaker's retry as is", a, res)
		}
	}
}

// A new copy of the same id (requeued, or enqueued again after it was done)
// starts again at attempt 1: old rejections must not carry over.
func TestRetryForgetsRejectionsOfAnEarlierCopy(t *testing.T) {
	answer := rejection
	var seen int
	h := mustRetry(t, middleware.WithRetryMaxAttempts(2))(handlerFunc(func(_ context.Context, m *core.Message) core.Result {
		seen = m.Attempt
		return answer
	}))
	h.Handle(bg, msg("m", 1))
	h.Handle(bg, msg("m", 2)) // two rejections remembered

	answer = core.Retry(0)
	again := msg("m", 1)
	again.EnqueuedAt = again.EnqueuedAt.Add(time.Hour) // a new copy
	if res := h.Handle(bg, again); res.Outcome != core.OutcomeRetry || seen != 1 {
		t.Fatalf("new copy: got %v, handler saw attempt %d", res, seen)
	}
	next := msg("m", 2)
	next.EnqueuedAt = again.EnqueuedAt
	if res := h.Handle(bg, next); res.Outcome != core.OutcomeError {
		t.Fatalf("second real attempt of the new copy got %v, want exhausted", res)
	}

	// Same EnqueuedAt but the attempt went back: also a new copy.
	answer = rejection
	h.Handle(bg, msg("x", 3))
	answer = core.Retry(0)
	if h.Handle(bg, msg("x", 1)); seen != 1 {
		t.Fatalf("handler saw attempt %d, want 1", seen)
	}
}

func TestRetryRejectionMemoryIsBounded(t *testing.T) {
	answer := rejection
	var seen int
	h := mustRetry(t, middleware.WithRetryRejectionsMemory(2), middleware.WithRetryMaxAttempts(10))(
		handlerFunc(func(_ context.Context, m *core.Message) core.Result {
			seen = m.Attempt
			return answer
		}))
	for _, id := range []string{"a", "b", "c"} {
		h.Handle(bg, msg(id, 1))
	}
	answer = core.Success()
	h.Handle(bg, msg("a", 2)) // forgotten: its rejection counts
	if seen != 2 {
		t.Fatalf("a: handler saw %d, want 2 (forgotten)", seen)
	}
	h.Handle(bg, msg("c", 2)) // remembered
	if seen != 1 {
		t.Fatalf("c: handler saw %d, want 1", seen)
	}
}

// The breaker and Retry together, in the recommended order: attempts spent
// while the breaker is open are not counted.
func TestRetryOutsideBreaker(t *testing.T) {
	var down = true
	var calls []int
	h := middleware.Chain(
		mustRetry(t, middleware.WithRetryMaxAttempts(3), middleware.WithRetryJitter(bottom)),
		breaker(t, middleware.WithBreakerOpenTimeout(openPeriod), tripAfter(2)),
	)(handlerFunc(func(_ context.Context, m *core.Message) core.Result {
		calls = append(calls, m.Attempt)
		if down {
			return core.Fail(errors.New("down")) // opens the breaker
		}
		return core.Retry(0) // not yet: no failure of the dependency
	}))
	h.Handle(bg, msg("x", 1))
	h.Handle(bg, msg("y", 1)) // open now
	for a := 1; a <= 20; a++ {
		if res := h.Handle(bg, msg("m", a)); !errors.Is(res.Err, middleware.ErrBreakerOpen) {
			t.Fatalf("attempt %d: got %v", a, res)
		}
	}
	down = false
	time.Sleep(openPeriod + 10*time.Millisecond)
	if res := h.Handle(bg, msg("m", 21)); res.Outcome != core.OutcomeRetry {
		t.Fatalf("probe: %v", res)
	}
	h.Handle(bg, msg("m", 22))
	res := h.Handle(bg, msg("m", 23))
	if res.Outcome != core.OutcomeError || !errors.Is(res.Err, middleware.ErrRetriesExhausted) {
		t.Fatalf("third real attempt: %v", res)
	}
	if fmt.Sprint(calls) != "[1 1 1 2 3]" {
		t.Fatalf("handler saw attempts %v, want [1 1 1 2 3]", calls)
	}
}

func TestRetryRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opt   middleware.RetryOption
		field string
	}{
		{"zero attempts", middleware.WithRetryMaxAttempts(0), "WithRetryMaxAttempts"},
		{"zero base", middleware.WithRetryBackoff(0, time.Second), "WithRetryBackoff"},
		{"max below base", middleware.WithRetryBackoff(time.Second, time.Millisecond), "WithRetryBackoff"},
		{"nil jitter", middleware.WithRetryJitter(nil), "WithRetryJitter"},
		{"zero memory", middleware.WithRetryRejectionsMemory(0), "WithRetryRejectionsMemory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := middleware.Retry(tc.opt)
			wantInvalid(t, err, tc.field)
			if mw != nil {
				t.Fatal("Retry answered a middleware with its error")
			}
		})
	}
}
