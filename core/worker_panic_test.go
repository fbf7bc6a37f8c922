package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// explode is the handler's own code that panics; its frame must show in
// the dead letter and the log.
func explode(v any) core.Result { panic(v) }

// A handler's panic, recovered by the worker itself, leaves a dead letter
// whose text holds the panic value and the stack down to the handler's
// frame, and exactly one log line with queue, id, attempt, value and stack.
func TestWorkerPanicKeepsTheStack(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		q := core.NewQueue(env.b, "panic-stack")
		publishN(t, env.b, q.Name(), 1)
		logs := &logBuffer{}
		w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			return explode("boom")
		}), core.WithLogger(logs.logger()))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the panic", 5*time.Second, func() bool { return w.Stats().Error == 1 })
		stop(t, w)

		dead, err := q.DeadLetters(ctx, 0, 1)
		if err != nil || len(dead) != 1 {
			t.Fatalf("dead letters %+v %v", dead, err)
		}
		text := dead[0].Error
		if !strings.HasPrefix(text, "redghost: handler panicked: boom\n") || !strings.Contains(text, "core_test.explode(") {
			t.Fatalf("dead letter text does not hold the panic value and the handler's frame:\n%s", text)
		}
		if len(text) > core.MaxErrorBytes {
			t.Fatalf("dead letter text is %d bytes, more than %d", len(text), core.MaxErrorBytes)
		}
		lines := logs.lines("handler panicked")
		if len(lines) != 1 {
			t.Fatalf("%d log lines about the panic, want 1:\n%s", len(lines), logs)
		}
		for _, want := range []string{"level=ERROR", "queue=panic-stack", "id=m00000", "attempt=1", "panic=boom", "core_test.explode("} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("log line lacks %q:\n%s", want, lines[0])
			}
		}
	})
}

// A huge panic value is cut, and the stack is kept: the dead letter's text
// stays within MaxErrorBytes and still shows where the handler panicked.
func TestWorkerPanicStackSurvivesAHugeValue(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		q := core.NewQueue(env.b, "panic-huge")
		publishN(t, env.b, q.Name(), 1)
		w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			return explode(strings.Repeat("é", core.MaxErrorBytes))
		}), core.WithLogger(quiet))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the panic", 5*time.Second, func() bool { return w.Stats().Error == 1 })
		stop(t, w)
		dead, err := q.DeadLetters(ctx, 0, 1)
		if err != nil || len(dead) != 1 {
			t.Fatalf("dead letters %+v %v", dead, err)
		}
		text := dead[0].Error
		if len(text) > core.MaxErrorBytes || !strings.HasPrefix(text, "redghost: handler panicked: éé") || !strings.Contains(text, "core_test.explode(") {
			t.Fatalf("dead letter text (%d bytes) lost the value or the stack:\n%.300s\n...\n%s", len(text), text, text[max(0, len(text)-1500):])
		}
	})
}
