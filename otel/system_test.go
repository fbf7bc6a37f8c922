package otel_test

import (
	"context"
	"testing"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	rgotel "github.com/redghost/redghost/otel"
)

// messagingSystems publishes one message through b and handles it with a
// worker, and answers the messaging.system of the send and process spans.
func messagingSystems(t *testing.T, b core.Backend, queue string) (send, process string) {
	t.Helper()
	sr, tp := newRecorder(t)
	opts := []rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop)}
	pub := core.NewPublisher(b, core.WithPublishMiddleware(rgotel.PublishMiddleware(opts...)))
	done := make(chan struct{})
	h := rgotel.Middleware(opts...)(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		close(done)
		return core.Success()
	}))
	if _, err := pub.Enqueue(context.Background(), queue, []byte("x"), core.WithID("m1")); err != nil {
		t.Fatal(err)
	}
	drain(t, b, queue, h, done, 1, "the message")
	for _, s := range sr.Ended() {
		v := attrs(s)["messaging.system"].AsString()
		switch s.Name() {
		case "send " + queue:
			send = v
		case "process " + queue:
			process = v
		}
	}
	return send, process
}

func TestMessagingSystemMemory(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	send, process := messagingSystems(t, b, "jobs")
	if send != "memory" || process != "memory" {
		t.Errorf("messaging.system: send %q, process %q; want memory for both", send, process)
	}
}

func TestMessagingSystemRedis(t *testing.T) {
	b, err := redisqueue.New(redistest.Shared(t).Client(t), redisqueue.WithPrefix("otel-system-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.ClearQueues(context.Background(), "jobs") })
	send, process := messagingSystems(t, b, "jobs")
	if send != "redis" || process != "redis" {
		t.Errorf("messaging.system: send %q, process %q; want redis for both", send, process)
	}
}

// A handler called outside a worker, or a backend that does not name its
// system, gets DefaultSystem; a context may name one itself.
func TestMessagingSystemOutsideWorker(t *testing.T) {
	for _, tc := range []struct {
		ctx  context.Context
		want string
	}{
		{context.Background(), rgotel.DefaultSystem},
		{core.ContextWithSystem(context.Background(), "kafka-bridge"), "kafka-bridge"},
	} {
		sr, tp := newRecorder(t)
		h := rgotel.Middleware(rgotel.WithTracerProvider(tp))(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			return core.Success()
		}))
		h.Handle(tc.ctx, &core.Message{ID: "x", Queue: "q", Attempt: 1})
		send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp))(&echoSender{})
		if _, err := send.Send(tc.ctx, []core.EnqueueRequest{{Queue: "q", ID: "y"}}); err != nil {
			t.Fatal(err)
		}
		for _, s := range sr.Ended() {
			wantAttr(t, s, "messaging.system", tc.want)
		}
	}
}
