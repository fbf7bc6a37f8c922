package middleware_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

const tick = 20 * time.Millisecond // a deadline short enough not to slow tests

func TestTimeoutPassesATimelyAnswer(t *testing.T) {
	h := mustTimeout(t, time.Minute)(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the handler's context has no deadline")
		}
		return core.RetryErr(3*time.Second, errors.New("busy"))
	}))
	res := h.Handle(bg, msg("m", 1))
	if res.Outcome != core.OutcomeRetry || res.Backoff != 3*time.Second || errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("got %v", res)
	}
}

func TestTimeoutCancelsWithItsOwnCause(t *testing.T) {
	h := mustTimeout(t, tick, middleware.WithTimeoutBackoff(time.Second), middleware.WithTimeoutGrace(time.Minute))(
		handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			<-ctx.Done()
			if !errors.Is(context.Cause(ctx), middleware.ErrTimeout) {
				t.Errorf("cause %v, want ErrTimeout", context.Cause(ctx))
			}
			return core.RetryErr(0, context.Cause(ctx))
		}))
	res := h.Handle(bg, msg("m", 1))
	if res.Outcome != core.OutcomeRetry || res.Backoff != time.Second || !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("got %v, want retry after 1s with ErrTimeout", res)
	}
}

// A handler that honours the deadline but turns it into an error outcome
// would dead-letter a message for being slow; Timeout makes it a retry.
func TestTimeoutTurnsALateFailureIntoARetry(t *testing.T) {
	h := mustTimeout(t, tick, middleware.WithTimeoutGrace(time.Minute))(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		<-ctx.Done()
		return core.Fail(ctx.Err())
	}))
	res := h.Handle(bg, msg("m", 1))
	if res.Outcome != core.OutcomeRetry || !errors.Is(res.Err, middleware.ErrTimeout) || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a retry matching ErrTimeout and the handler's error", res)
	}
}

func TestTimeoutKeepsALateSuccess(t *testing.T) {
	h := mustTimeout(t, tick, middleware.WithTimeoutGrace(time.Minute))(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		<-ctx.Done()
		return core.SuccessWithBackoff(time.Hour) // the work was done
	}))
	if res := h.Handle(bg, msg("m", 1)); res.Outcome != core.OutcomeSuccess || res.Backoff != time.Hour {
		t.Fatalf("got %v, want the late success", res)
	}
}

// The handler ignores cancellation: it is abandoned at the deadline, its
// late answer is discarded, and the bound on abandoned handlers holds.
func TestTimeoutAbandonsAHandlerThatIgnoresCancellation(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 10)
	late := make(chan core.Result, 10)
	h := mustTimeout(t, tick,
		middleware.WithTimeoutBackoff(5*time.Second),
		middleware.WithTimeoutMaxAbandoned(1),
		middleware.WithTimeoutOnLateResult(func(m *core.Message, res core.Result) { late <- res }),
	)(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		started <- m.ID
		if m.ID == "stuck" {
			<-release // ignores ctx
			return core.Fail(errors.New("late failure"))
		}
		return core.Success()
	}))

	begin := time.Now()
	res := h.Handle(bg, msg("stuck", 1))
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("Timeout waited %s for a stuck handler", took)
	}
	if res.Outcome != core.OutcomeRetry || res.Backoff != 5*time.Second || !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("got %v, want retry after 5s with ErrTimeout", res)
	}
	within(t, time.Second, started, "stuck started")

	// The bound (1) is reached: the next message is not started.
	res = h.Handle(bg, msg("next", 1))
	if res.Outcome != core.OutcomeRetry || !errors.Is(res.Err, middleware.ErrTooManyAbandoned) || !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("at the bound got %v, want retry with ErrTooManyAbandoned", res)
	}
	select {
	case id := <-started:
		t.Fatalf("handler started %q at the bound", id)
	default:
	}

	// The stuck handler returns: its answer is discarded (reported late),
	// and its place is free again.
	close(release)
	if r := within(t, 5*time.Second, late, "late answer"); r.Outcome != core.OutcomeError {
		t.Fatalf("late answer %v", r)
	}
	if res := h.Handle(bg, msg("next", 2)); res.Outcome != core.OutcomeSuccess {
		t.Fatalf("after the abandoned handler returned got %v, want success", res)
	}
}

// Shutdown is not the deadline: the handler sees the shutdown's cause,
// and its own answer stands.
func TestTimeoutTellsShutdownFromDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	entered := make(chan struct{})
	h := mustTimeout(t, time.Minute)(handlerFunc(func(hctx context.Context, m *core.Message) core.Result {
		close(entered)
		<-hctx.Done()
		if errors.Is(context.Cause(hctx), middleware.ErrTimeout) {
			t.Error("shutdown reached the handler as a timeout")
		}
		return core.RetryErr(0, hctx.Err())
	}))
	go func() { <-entered; cancel() }()
	res := h.Handle(ctx, msg("m", 1))
	if res.Outcome != core.OutcomeRetry || errors.Is(res.Err, middleware.ErrTimeout) || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("got %v, want the handler's own retry with context.Canceled", res)
	}
}

// At shutdown, a handler that ignores cancellation is still waited for
// until the deadline, then abandoned.
func TestTimeoutWaitsForTheDeadlineAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	release := make(chan struct{})
	defer close(release)
	h := mustTimeout(t, 3*tick, middleware.WithTimeoutMaxAbandoned(5))(handlerFunc(func(context.Context, *core.Message) core.Result {
		<-release
		return core.Success()
	}))
	begin := time.Now()
	res := h.Handle(ctx, msg("m", 1))
	if took := time.Since(begin); took < 3*tick {
		t.Fatalf("abandoned after %s, before the deadline", took)
	}
	if res.Outcome != core.OutcomeRetry || !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("got %v", res)
	}
}

func TestTimeoutRecoversAPanicOnItsGoroutine(t *testing.T) {
	h := mustTimeout(t, time.Minute)(handlerFunc(func(context.Context, *core.Message) core.Result {
		panic("boom in handler")
	}))
	res := h.Handle(bg, msg("m", 1))
	var pe *core.PanicError
	if res.Outcome != core.OutcomeError || !errors.As(res.Err, &pe) || !strings.Contains(string(pe.Stack), "timeout_test.go") {
		t.Fatalf("got %v, want an error outcome with the panic and its stack", res)
	}
}

func TestTimeoutDiscardsALatePanic(t *testing.T) {
	release := make(chan struct{})
	late := make(chan core.Result, 1)
	h := mustTimeout(t, tick, middleware.WithTimeoutOnLateResult(func(_ *core.Message, r core.Result) { late <- r }))(
		handlerFunc(func(context.Context, *core.Message) core.Result {
			<-release
			panic("too late")
		}))
	if res := h.Handle(bg, msg("m", 1)); !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("got %v", res)
	}
	close(release)
	var pe *core.PanicError
	if r := within(t, 5*time.Second, late, "late panic"); !errors.As(r.Err, &pe) {
		t.Fatalf("late answer %v", r)
	}
}

// Many handlers at once, half of them stuck: exactly the bound is
// abandoned; the stuck ones past the bound are waited for.
func TestTimeoutBoundIsStrictUnderLoad(t *testing.T) {
	const bound = 8
	release := make(chan struct{})
	var lateDone sync.WaitGroup
	lateDone.Add(bound)
	h := mustTimeout(t, tick, middleware.WithTimeoutMaxAbandoned(bound),
		middleware.WithTimeoutOnLateResult(func(*core.Message, core.Result) { lateDone.Done() }))(
		handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			if m.Attempt%2 == 1 {
				<-release
			}
			return core.Success()
		}))
	var ok, abandoned, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := h.Handle(bg, msg("m", i))
			switch {
			case res.Outcome == core.OutcomeSuccess:
				ok.Add(1)
			case errors.Is(res.Err, middleware.ErrTooManyAbandoned):
				refused.Add(1)
			case errors.Is(res.Err, middleware.ErrTimeout):
				abandoned.Add(1)
			default:
				t.Errorf("unexpected %v", res)
			}
		}()
	}
	for abandoned.Load() < bound {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(3 * tick) // give a wrong implementation time to abandon more
	close(release)
	wg.Wait()
	lateDone.Wait()
	if n := abandoned.Load(); n != bound {
		t.Fatalf("%d handlers abandoned, want the bound %d", n, bound)
	}
	if ok.Load()+abandoned.Load()+refused.Load() != 40 || ok.Load() < 20 {
		t.Fatalf("ok %d, abandoned %d, refused %d", ok.Load(), abandoned.Load(), refused.Load())
	}
}

func TestTimeoutRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     time.Duration
		opt   middleware.TimeoutOption
		field string
	}{
		{"zero duration", 0, middleware.WithTimeoutBackoff(0), "d"},
		{"negative duration", -time.Second, middleware.WithTimeoutBackoff(0), "d"},
		{"zero bound", time.Second, middleware.WithTimeoutMaxAbandoned(0), "WithTimeoutMaxAbandoned"},
		{"negative grace", time.Second, middleware.WithTimeoutGrace(-1), "WithTimeoutGrace"},
		{"negative backoff", time.Second, middleware.WithTimeoutBackoff(-1), "WithTimeoutBackoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := middleware.Timeout(tc.d, tc.opt)
			wantInvalid(t, err, tc.field)
			if mw != nil {
				t.Fatal("Timeout answered a middleware with its error")
			}
		})
	}
}
