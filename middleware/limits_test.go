package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
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
	// runs answers the timeout's cause when its context ends first, or
	// end after 100ms.
	runs := func(end core.Result) core.Handler {
		return handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			select {
			case <-ctx.Done():
				return core.RetryErr(0, context.Cause(ctx))
			case <-time.After(100 * time.Millisecond):
				return end
			}
		})
	}
	h := mustTimeout(t, 200*time.Millisecond, middleware.WithTimeoutGrace(time.Minute))(
		runs(core.Fail(errors.New("ran to its end"))))

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
	tight := mustTimeout(t, 20*time.Millisecond, middleware.WithTimeoutGrace(time.Minute))(runs(core.Success()))
	if res := tight.Handle(bg, long); res.Outcome != core.OutcomeSuccess {
		t.Fatalf("own timeout of 1m under a 20ms middleware: got %v, want the handler's success", res)
	}
	if res := tight.Handle(bg, msg("plain", 1)); !errors.Is(res.Err, middleware.ErrTimeout) {
		t.Fatalf("no own timeout: got %v, want the middleware's ErrTimeout", res)
	}
}

// A message's own limits travel from the publisher through Redis to the
// worker's chain: its attempt bound ends its retries early, its timeout
// cuts its handling short, and a message without limits gets the
// middleware's.
func TestLimitsThroughAWorkerOnRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Start(t)
	b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix("middleware-limits"))
	if err != nil {
		t.Fatal(err)
	}
	q := core.NewQueue(b, "limits")
	type seen struct {
		id      string
		attempt int
		timeout bool
	}
	seenCh := make(chan seen, 100)
	h := middleware.Chain(
		mustRetry(t, middleware.WithRetryMaxAttempts(10), middleware.WithRetryBackoff(time.Millisecond, time.Millisecond)),
		mustTimeout(t, time.Minute),
	)(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if m.ID == "slow" {
			<-ctx.Done()
			seenCh <- seen{m.ID, m.Attempt, errors.Is(context.Cause(ctx), middleware.ErrTimeout)}
			return core.Fail(ctx.Err()) // Timeout makes it a retry, Retry an exhausted failure
		}
		seenCh <- seen{m.ID, m.Attempt, false}
		if m.ID == "plain" && m.Attempt == 4 {
			return core.Success()
		}
		return core.RetryErr(0, errors.New("try again"))
	}))
	w := mustWorker(t, q, h, core.WithMaxWait(5*time.Millisecond), core.WithLogger(quietLogger))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	pub := core.NewPublisher(b)
	for _, m := range []struct {
		id   string
		opts []core.EnqueueOption
	}{
		{"bounded", []core.EnqueueOption{core.WithMaxAttempts(2)}},
		{"slow", []core.EnqueueOption{core.WithMaxAttempts(1), core.WithHandlingTimeout(50 * time.Millisecond)}},
		{"plain", nil},
	} {
		if _, err := pub.Enqueue(ctx, q.Name(), nil, append(m.opts, core.WithID(m.id))...); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string][]int{}
	for len(got["bounded"]) < 2 || len(got["slow"]) < 1 || len(got["plain"]) < 4 {
		s := within(t, 10*time.Second, seenCh, "the handlings")
		got[s.id] = append(got[s.id], s.attempt)
		if s.id == "slow" && !s.timeout {
			t.Fatal("the slow message's handling did not end by its own timeout")
		}
	}
	var dl []core.DeadLetter
	waitFor(t, "two dead letters", 10*time.Second, func() bool {
		if dl, err = q.DeadLetters(ctx, 0, 10); err != nil {
			t.Fatal(err)
		}
		return len(dl) >= 2
	})
	ids := map[string]bool{}
	for _, d := range dl {
		ids[d.ID] = true
		if !strings.Contains(d.Error, "retries exhausted") {
			t.Errorf("dead letter %s: error %q, want retries exhausted", d.ID, d.Error)
		}
	}
	if len(dl) != 2 || !ids["bounded"] || !ids["slow"] {
		t.Fatalf("dead letters %v, want bounded and slow", ids)
	}
	// Not handled again after the bound, ever: once the worker has
	// stopped, every handling it took has told seenCh, and nothing is left
	// in the queue to take.
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-seenCh:
		t.Fatalf("handled again after the bound: %+v", s)
	default:
	}
	if st, err := q.Stats(ctx); err != nil || st.Queued+st.Backoff+st.Locked != 0 {
		t.Fatalf("queue %+v (%v), want nothing left to handle", st, err)
	}
	if fmt.Sprint(got["bounded"]) != "[1 2]" || fmt.Sprint(got["plain"]) != "[1 2 3 4]" {
		t.Fatalf("attempts %v", got)
	}
}
