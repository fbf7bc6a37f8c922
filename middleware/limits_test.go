package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// A message's own attempt bound takes precedence over Retry's, lower or
// higher.
func TestRetryHonoursTheMessagesMaxAttempts(t *testing.T) {
	h := mustRetry(t, middleware.WithRetryMaxAttempts(5), middleware.WithRetryJitter(bottom))(
		handlerFunc(func(context.Context, *core.Message) core.Result { return core.Retry(0) }))
	for _, c := range []struct {
		own, attempt int
		exhausted    bool
	}{
		{0, 4, false}, {0, 5, true}, // the middleware's bound
		{2, 1, false}, {2, 2, true}, // lower
		{8, 5, false}, {8, 7, false}, {8, 8, true}, // higher
	} {
		m := msg("m", c.attempt)
		m.MaxAttempts = c.own
		res := h.Handle(bg, m)
		var ex *middleware.ExhaustedError
		if got := errors.As(res.Err, &ex); got != c.exhausted || (got && (res.Outcome != core.OutcomeError || ex.Attempts != c.attempt)) {
			t.Errorf("own bound %d, attempt %d: got %v; want exhausted %t", c.own, c.attempt, res, c.exhausted)
		}
	}
}

// A message's own timeout takes precedence over Timeout's, shorter or
// longer, and names itself in the error.
func TestTimeoutHonoursTheMessagesTimeout(t *testing.T) {
	h := mustTimeout(t, 200*time.Millisecond, middleware.WithTimeoutGrace(time.Minute))(
		handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			select {
			case <-ctx.Done():
				return core.RetryErr(0, context.Cause(ctx))
			case <-time.After(100 * time.Millisecond):
				return core.Fail(errors.New("ran to its end"))
			}
		}))

	short := msg("short", 1)
	short.Timeout = 20 * time.Millisecond
	start := time.Now()
	res := h.Handle(bg, short)
	if took := time.Since(start); !errors.Is(res.Err, middleware.ErrTimeout) || took > 90*time.Millisecond {
		t.Fatalf("own timeout of 20ms: got %v after %s, want ErrTimeout well before 100ms", res, took)
	}
	if want := "after 20ms"; !strings.Contains(res.Err.Error(), want) {
		t.Fatalf("error %q does not say %q", res.Err, want)
	}

	long := msg("long", 1)
	long.Timeout = time.Minute
	tight := mustTimeout(t, 20*time.Millisecond, middleware.WithTimeoutGrace(time.Minute))(
		handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			select {
			case <-ctx.Done():
				return core.RetryErr(0, context.Cause(ctx))
			case <-time.After(100 * time.Millisecond):
				return core.Success()
			}
		}))
	if res := tight.Handle(bg, long); res.Outcome != core.OutcomeSuccess {
		t.Fatalf("own timeout of 1m under a 20ms middleware: got %v, want the handler's success", res)
	}
	if res := tight.Handle(bg, msg("plain", 1)); !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("no own timeout: got %v, want the middleware's ErrTimeout", res)
	}
}
