package middleware_test

import (
	"context"
	"slices"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
)

// trace returns middleware that records entering and leaving under name.
func trace(log *[]string, name string) core.Middleware {
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			*log = append(*log, name+">")
			res := next.Handle(ctx, m)
			*log = append(*log, "<"+name)
			return res
		})
	}
}

func TestChainFirstIsOutermost(t *testing.T) {
	var log []string
	h := middleware.Chain(trace(&log, "a"), nil, trace(&log, "b"), trace(&log, "c"))(
		handlerFunc(func(context.Context, *core.Message) core.Result {
			log = append(log, "h")
			return core.Success()
		}))
	h.Handle(bg, msg("m", 1))
	want := []string{"a>", "b>", "c>", "h", "<c", "<b", "<a"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %v, want %v", log, want)
	}
}

func TestChainEmptyIsIdentity(t *testing.T) {
	h := handlerFunc(func(context.Context, *core.Message) core.Result { return core.Retry(7) })
	if got := middleware.Chain()(h).Handle(bg, msg("m", 1)); got.Backoff != 7 {
		t.Fatalf("got %v", got)
	}
}

func TestChainCopiesItsArguments(t *testing.T) {
	var log []string
	mws := []core.Middleware{trace(&log, "a")}
	chain := middleware.Chain(mws...)
	mws[0] = trace(&log, "x")
	chain(handlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })).Handle(bg, msg("m", 1))
	if log[0] != "a>" {
		t.Fatalf("chain changed with its argument slice: %v", log)
	}
}

func tracePublish(log *[]string, name string) core.PublishMiddleware {
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			*log = append(*log, name+">")
			res, err := next.Send(ctx, reqs)
			*log = append(*log, "<"+name)
			return res, err
		})
	}
}

func TestChainPublishFirstIsOutermost(t *testing.T) {
	var log []string
	s := middleware.ChainPublish(tracePublish(&log, "a"), nil, tracePublish(&log, "b"))(
		core.SenderFunc(func(_ context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			log = append(log, "send")
			return make([]core.EnqueueResult, len(reqs)), nil
		}))
	if _, err := s.Send(bg, []core.EnqueueRequest{{Queue: "q"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"a>", "b>", "send", "<b", "<a"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %v, want %v", log, want)
	}
}
