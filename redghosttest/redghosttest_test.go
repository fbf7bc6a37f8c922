package redghosttest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// fakeTB records the failures of the helpers under test; Fatalf ends the
// goroutine as testing.T's does.
type fakeTB struct {
	testing.TB
	ctx context.Context
	mu  sync.Mutex
	msg []string
}

func (f *fakeTB) Helper()                  {}
func (f *fakeTB) Context() context.Context { return f.ctx }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = append(f.msg, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// failure runs fn with a fake TB and answers what it failed with ("" if
// it did not fail).
func failure(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fakeTB{TB: t, ctx: t.Context()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return strings.Join(f.msg, "\n")
}

type payload struct {
	N int `json:"n"`
}

func TestRequireEnqueuedFails(t *testing.T) {
	t.Parallel()
	publish := func(tb testing.TB, e *Env, opts ...core.EnqueueOption) {
		if _, err := e.Publisher().Publish(e.ctx(), "q", payload{N: 1}, opts...); err != nil {
			tb.Fatalf("publish: %v", err)
		}
	}
	want := Want[payload]{Queue: "q", Payload: payload{N: 1}}
	for _, tc := range []struct {
		name string
		fn   func(tb testing.TB)
		fail string // in the failure; "" for none
	}{
		{"Matches", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e, core.WithHeader("h", "v"))
			RequireEnqueued(e, want)
			e.RequireNothingElseEnqueued()
		}, ""},
		{"Nothing", func(tb testing.TB) {
			RequireEnqueued(New(tb), want)
		}, `nothing (more) was enqueued to queue "q"`},
		{"OtherQueue", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e)
			RequireEnqueued(e, Want[payload]{Queue: "other"})
		}, `nothing (more) was enqueued to queue "other"; enqueued:
  queue "q" id`},
		{"MatchedOnce", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e)
			RequireEnqueued(e, want)
			RequireEnqueued(e, want)
		}, `nothing (more) was enqueued`},
		{"Payload", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e)
			RequireEnqueued(e, Want[payload]{Queue: "q", Payload: payload{N: 2}})
		}, "payload {N:1}, want {N:2}"},
		{"NotDecoding", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e)
			RequireEnqueued(e, Want[[]string]{Queue: "q"})
		}, "does not decode into []string"},
		{"Header", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e, core.WithHeader("h", "v"))
			RequireEnqueued(e, Want[payload]{Queue: "q", Payload: payload{N: 1}, Headers: map[string]string{"h": "w"}})
		}, `header "h" = "v", want "w"`},
		{"Delay", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e, core.WithDelay(time.Second))
			RequireEnqueued(e, want)
		}, "delay 1s, want 0s"},
		{"ID", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e, core.WithID("a"))
			RequireEnqueued(e, Want[payload]{Queue: "q", ID: "b", Payload: payload{N: 1}})
		}, `nothing (more) was enqueued to queue "q" id "b"`},
		{"Refused", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e, core.WithID("a"))
			_, _ = e.Publisher().Publish(e.ctx(), "q", payload{N: 1}, core.WithID("a"))
			RequireEnqueued(e, want)
			RequireEnqueued(e, want)
		}, "the enqueue answered redghost: already queued"},
		{"SomethingElse", func(tb testing.TB) {
			e := New(tb)
			publish(tb, e)
			publish(tb, e, core.WithID("extra"))
			RequireEnqueued(e, want)
			e.RequireNothingElseEnqueued()
		}, `enqueued and not expected:
  queue "q" id "extra" payload {"n":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := failure(t, tc.fn)
			if tc.fail == "" && got != "" || !strings.Contains(got, tc.fail) {
				t.Errorf("failure %q, want one holding %q", got, tc.fail)
			}
		})
	}
}

func TestHandleDefaults(t *testing.T) {
	t.Parallel()
	start := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	e := New(t, WithStart(start))
	var got core.Message
	res := e.Handle(core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		got = *m
		return core.Success()
	}), core.Message{Payload: []byte("x")})
	if res != core.Success() {
		t.Errorf("result %v", res)
	}
	if got.ID == "" || got.Queue != "default" || got.Attempt != 1 || got.LockDuration != time.Minute || !got.EnqueuedAt.Equal(start) {
		t.Errorf("the handler saw %+v", got)
	}
}

// The chain runs first outermost, around the handler.
func TestHandleChainOrder(t *testing.T) {
	t.Parallel()
	var order []string
	mw := func(name string) core.Middleware {
		return func(next core.Handler) core.Handler {
			return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
				order = append(order, name)
				return next.Handle(ctx, m)
			})
		}
	}
	e := New(t, WithMiddleware(mw("a"), nil), WithMiddleware(mw("b")))
	e.Handle(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		order = append(order, "h")
		return core.Success()
	}), core.Message{})
	if fmt.Sprint(order) != "[a b h]" {
		t.Errorf("order %v", order)
	}
}

func TestDrainBounds(t *testing.T) {
	t.Parallel()
	always := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Retry(10 * time.Minute) })
	for _, tc := range []struct {
		name string
		opts []DrainOption
		want int
	}{
		{"MaxHandlings", []DrainOption{WithMaxHandlings(2)}, 2},
		{"Within", []DrainOption{Within(30 * time.Minute)}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := New(t)
			if _, err := e.Publisher().Enqueue(t.Context(), "q", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if got := e.Drain("q", always, tc.opts...); len(got) != tc.want {
				t.Errorf("%d handlings, want %d: %v", len(got), tc.want, got)
			}
		})
	}
}

// A success that holds its id leaves the queue with nothing to handle:
// the drain ends without moving the clock to the hold's end.
func TestDrainEndsAtHeldIDs(t *testing.T) {
	t.Parallel()
	e := New(t)
	if _, err := e.Publisher().Enqueue(t.Context(), "q", []byte("x")); err != nil {
		t.Fatal(err)
	}
	start := e.Clock().Now()
	got := e.Drain("q", core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.SuccessWithBackoff(time.Hour) }))
	if len(got) != 1 || !e.Clock().Now().Equal(start) {
		t.Errorf("%v, clock moved by %v", got, e.Clock().Now().Sub(start))
	}
}
