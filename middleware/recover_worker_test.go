package middleware_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/syncbuf"
	"github.com/redghost/redghost/middleware"
)

// parse is the handler's own code that panics.
func parse(p []byte) core.Result {
	var m map[string]int
	m[string(p)]++ // a runtime error: assignment to a nil map
	return core.Success()
}

// A panic recovered by Recover on a worker: the dead letter keeps the
// panic value and the stack down to the handler's frame, and the panic is
// logged once (by Recover; the worker, which gets an error outcome, does
// not log it again), although both log to the same place.
func TestRecoverOnAWorkerKeepsTheStackAndLogsOnce(t *testing.T) {
	t.Parallel()
	for name, newBackend := range map[string]func(t *testing.T) core.Backend{
		"memqueue": func(*testing.T) core.Backend { return mustMem(t) },
		"redis": func(t *testing.T) core.Backend {
			b, err := redisqueue.New(redistest.Start(t).Client(t), redisqueue.WithPrefix("recover"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := newBackend(t)
			q := core.NewQueue(b, "recover-worker")
			if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x"), core.WithID("poison")); err != nil {
				t.Fatal(err)
			}
			logs := &syncbuf.Buffer{}
			logger := slog.New(slog.NewTextHandler(logs, nil))
			h := middleware.Recover(middleware.WithRecoverLogger(logger))(core.HandlerFunc(
				func(_ context.Context, m *core.Message) core.Result { return parse(m.Payload) }))
			w := mustWorker(t, q, h, core.WithLogger(logger))
			if err := w.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the panic", 5*time.Second, func() bool { return w.Stats().Error == 1 })
			if err := w.Stop(ctx); err != nil {
				t.Fatal(err)
			}

			dead, err := q.DeadLetters(ctx, 0, 1)
			if err != nil || len(dead) != 1 {
				t.Fatalf("dead letters %+v %v", dead, err)
			}
			text := dead[0].Error
			if !strings.HasPrefix(text, "redghost: handler panicked: assignment to entry in nil map\n") ||
				!strings.Contains(text, "middleware_test.parse(") || len(text) > core.MaxErrorBytes {
				t.Fatalf("dead letter text (%d bytes) does not hold the panic value and the handler's frame:\n%s", len(text), text)
			}
			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "handler panicked") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d log lines about the panic, want 1:\n%s", len(lines), logs)
			}
			for _, want := range []string{"level=ERROR", "queue=recover-worker", "id=poison", "attempt=1",
				`panic="assignment to entry in nil map"`, "middleware_test.parse("} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("log line lacks %q:\n%s", want, lines[0])
				}
			}
		})
	}
}

// A panic that Timeout recovered on its own goroutine (no Recover in the
// chain) is logged once, by the worker, with the handler's frame.
func TestTimeoutPanicIsLoggedOnceByTheWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := mustMem(t)
	q := core.NewQueue(b, "timeout-panic")
	if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x"), core.WithID("poison")); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	h := mustTimeout(t, time.Second)(core.HandlerFunc(
		func(_ context.Context, m *core.Message) core.Result { return parse(m.Payload) }))
	w := mustWorker(t, q, h, core.WithLogger(logger))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the panic", 5*time.Second, func() bool { return w.Stats().Error == 1 })
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "handler panicked\" queue=timeout-panic id=poison"); n != 1 || !strings.Contains(logs.String(), "middleware_test.parse(") {
		t.Fatalf("%d panic lines, want 1 with the handler's frame:\n%s", n, logs)
	}
}
