package middleware_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

func TestRecoverTurnsPanicIntoErrorOutcome(t *testing.T) {
	h := middleware.Recover(middleware.WithRecoverLogger(quietLogger))(handlerFunc(func(context.Context, *core.Message) core.Result {
		panic("boom")
	}))
	res := h.Handle(bg, msg("m", 1))
	if res.Outcome != core.OutcomeError {
		t.Fatalf("outcome %v, want error", res.Outcome)
	}
	var pe *core.PanicError
	if !errors.As(res.Err, &pe) {
		t.Fatalf("error %v is not a *core.PanicError", res.Err)
	}
	if pe.Value != "boom" {
		t.Fatalf("panic value %v", pe.Value)
	}
	if !strings.Contains(string(pe.Stack), "recover_test.go") {
		t.Fatalf("stack does not show the panicking handler:\n%s", pe.Stack)
	}
}

func TestRecoverKeepsAnErrorValueMatchable(t *testing.T) {
	sentinel := errors.New("dependency broke")
	var seen *core.PanicError
	h := middleware.Recover(middleware.WithRecoverLogger(quietLogger), middleware.WithRecoverOnPanic(func(_ context.Context, m *core.Message, p *core.PanicError) {
		if m.ID != "m" {
			t.Errorf("callback got message %q", m.ID)
		}
		seen = p
	}))(handlerFunc(func(context.Context, *core.Message) core.Result { panic(sentinel) }))
	res := h.Handle(bg, msg("m", 1))
	if !errors.Is(res.Err, sentinel) {
		t.Fatalf("errors.Is(%v, sentinel) is false", res.Err)
	}
	if seen == nil || seen != res.Err {
		t.Fatalf("WithRecoverOnPanic saw %v, result has %v", seen, res.Err)
	}
}

func TestRecoverPassesAnswersThrough(t *testing.T) {
	h := middleware.Recover(middleware.WithRecoverLogger(quietLogger))(handlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Retry(5)
	}))
	if res := h.Handle(bg, msg("m", 1)); res.Outcome != core.OutcomeRetry || res.Backoff != 5 {
		t.Fatalf("got %v", res)
	}
}

// TestRecoverInsideLoggingSeesPanicAsError: the reason Recover exists next
// to the worker's own recover.
func TestRecoverLetsOuterMiddlewareSeeTheOutcome(t *testing.T) {
	var outer core.Result
	see := func(next core.Handler) core.Handler {
		return handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			outer = next.Handle(ctx, m)
			return outer
		})
	}
	h := middleware.Chain(see, middleware.Recover(middleware.WithRecoverLogger(quietLogger)))(handlerFunc(func(context.Context, *core.Message) core.Result {
		var m map[string]int
		m["x"] = 1 // a runtime error panic
		return core.Success()
	}))
	h.Handle(bg, msg("m", 1))
	var pe *core.PanicError
	if outer.Outcome != core.OutcomeError || !errors.As(outer.Err, &pe) {
		t.Fatalf("outer middleware saw %v", outer)
	}
}
