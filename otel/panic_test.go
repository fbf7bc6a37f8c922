package otel_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	rgotel "github.com/redghost/redghost/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

//go:noinline
func panickingHandler(context.Context, *core.Message) core.Result {
	panic("handler bug")
}

// deepPanic panics under n frames, for a stack longer than the bound.
//
//go:noinline
func deepPanic(n int) {
	if n == 0 {
		panic("deep bug")
	}
	deepPanic(n - 1)
}

// stacktrace is the exception.stacktrace of s's exception event.
func stacktrace(t *testing.T, s sdktrace.ReadOnlySpan) string {
	t.Helper()
	e, ok := event(s, "exception")
	if !ok {
		t.Fatalf("no exception event in %v", s.Events())
	}
	if v, _ := eventAttr(e, "exception.type"); v.AsString() != "*core.PanicError" {
		t.Errorf("exception.type %q, want *core.PanicError", v.AsString())
	}
	if v, _ := eventAttr(e, "exception.message"); !strings.Contains(v.AsString(), "bug") {
		t.Errorf("exception.message %q, want the panic value", v.AsString())
	}
	v, ok := eventAttr(e, "exception.stacktrace")
	if !ok {
		t.Fatalf("exception event without exception.stacktrace: %v", e.Attributes)
	}
	return v.AsString()
}

// A panic that reaches the tracing middleware, and one Recover turned into
// an error outcome inside it, both leave their stack on the span, starting
// at the function that panicked.
func TestPanicStacktrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chain []core.Middleware
	}{
		{"panic through", nil},
		{"recovered inside", []core.Middleware{middleware.Recover()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr, tp := newRecorder(t)
			h := middleware.Chain(append([]core.Middleware{rgotel.Middleware(rgotel.WithTracerProvider(tp))}, tc.chain...)...)(core.HandlerFunc(panickingHandler))
			func() {
				defer func() { _ = recover() }()
				h.Handle(context.Background(), &core.Message{ID: "x", Queue: "q", Attempt: 1})
			}()
			st := stacktrace(t, sr.Ended()[0])
			first := strings.SplitN(st, "\n", 3)
			if len(first) < 2 || !strings.HasPrefix(first[0], "goroutine ") || !strings.Contains(first[1], "panickingHandler") {
				t.Errorf("stack does not start at the panicking function:\n%s", st)
			}
		})
	}
}

// A long stack is cut to core.MaxPanicStackBytes, at a line.
func TestPanicStacktraceBounded(t *testing.T) {
	sr, tp := newRecorder(t)
	h := rgotel.Middleware(rgotel.WithTracerProvider(tp))(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		deepPanic(200)
		return core.Success()
	}))
	func() {
		defer func() { _ = recover() }()
		h.Handle(context.Background(), &core.Message{ID: "x", Queue: "q", Attempt: 1})
	}()
	st := stacktrace(t, sr.Ended()[0])
	if len(st) > core.MaxPanicStackBytes || len(st) < core.MaxPanicStackBytes/2 {
		t.Errorf("stack of %d bytes, want at most %d and not much less", len(st), core.MaxPanicStackBytes)
	}
	if !strings.HasSuffix(st, "\n") {
		t.Errorf("stack not cut at a line: ...%q", st[max(0, len(st)-40):])
	}
	if !strings.Contains(st, "deepPanic") {
		t.Errorf("stack without the panicking function:\n%s", st)
	}
}
