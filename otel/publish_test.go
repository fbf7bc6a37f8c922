package otel_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/redis/go-redis/extra/redisotel/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	rgotel "github.com/redghost/redghost/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// One message, one span: the send span is the message's creation context
// and the backend's parent.
func TestPublishOneMessageOneSpan(t *testing.T) {
	sr, tp := newRecorder(t)
	s := publish(t, tp, []core.EnqueueRequest{{Queue: "q", ID: "a", Payload: []byte("x")}})
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	send := spans[0]
	if send.Name() != "send q" || send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("span %q (%v), want \"send q\", producer", send.Name(), send.SpanKind())
	}
	wantAttr(t, send, "messaging.operation.type", "send")
	wantAttr(t, send, "messaging.message.id", "a")
	if _, ok := attrs(send)["messaging.batch.message_count"]; ok {
		t.Error("a single message's span has messaging.batch.message_count")
	}
	sc := trace.SpanContextFromContext(prop.Extract(context.Background(), rgotel.HeaderCarrier(s.got[0].Headers)))
	if sc.TraceID() != send.SpanContext().TraceID() || sc.SpanID() != send.SpanContext().SpanID() {
		t.Errorf("headers carry %v, want the send span", sc)
	}
	if !trace.SpanContextFromContext(s.ctx).Equal(send.SpanContext()) {
		t.Error("the backend was not called under the send span")
	}
}

// A batch onto one queue names it; a failed call marks every span.
func TestPublishBatchFailure(t *testing.T) {
	sr, tp := newRecorder(t)
	down := errors.New("connection refused")
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp))(&echoSender{err: down})
	reqs := []core.EnqueueRequest{{Queue: "q", ID: "a"}, {Queue: "q", ID: "b"}}
	if _, err := send.Send(context.Background(), reqs); !errors.Is(err, down) {
		t.Fatalf("err %v, want %v", err, down)
	}
	spans := sr.Ended()
	if len(spans) != 3 || spans[2].Name() != "send q" {
		t.Fatalf("spans %v, want create, create, send q", names(spans))
	}
	wantAttr(t, spans[2], "messaging.destination.name", "q")
	for _, s := range spans {
		if s.Status().Code != codes.Error {
			t.Errorf("%s: status %v, want Error", s.Name(), s.Status())
		}
		wantAttr(t, s, "error.type", "*errors.errorString")
	}
	wantAttr(t, spans[0], "redghost.enqueue.result", "failed")
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name())
	}
	return n
}

// Through a Publisher on Redis, traced by redisotel: the go-redis command
// spans nest under the send span, which names the server; the worker's
// process spans link to each message's create span.
func TestPublishBatchOnRedis(t *testing.T) {
	srv := redistest.Shared(t)
	client := srv.Client(t)
	sr, tp := newRecorder(t)
	if err := redisotel.InstrumentTracing(client, redisotel.WithTracerProvider(tp), redisotel.WithDBStatement(false)); err != nil {
		t.Fatal(err)
	}
	b, err := redisqueue.New(client, redisqueue.WithPrefix("otel-publish-test"))
	if err != nil {
		t.Fatal(err)
	}
	const queue = "batch"
	t.Cleanup(func() { _ = b.ClearQueues(context.Background(), queue) })
	opts := []rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop)}
	pub := core.NewPublisher(b, core.WithPublishMiddleware(rgotel.PublishMiddleware(opts...)))

	// The caller's span is the parent of the send and create spans.
	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	reqs := []core.EnqueueRequest{{Queue: queue, ID: "m1"}, {Queue: queue, ID: "m2"}, {Queue: queue, ID: "m3"}}
	for i := range reqs {
		reqs[i].Payload = []byte("x")
	}
	if _, err := pub.EnqueueBatch(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	parent.End()

	var send sdktrace.ReadOnlySpan
	creates := map[trace.SpanID]string{}
	for _, s := range sr.Ended() {
		switch s.Name() {
		case "send " + queue:
			send = s
		case "create " + queue:
			creates[s.SpanContext().SpanID()] = attrs(s)["messaging.message.id"].AsString()
			if s.Parent().SpanID() != parent.SpanContext().SpanID() {
				t.Errorf("create span's parent %v, want the caller's", s.Parent().SpanID())
			}
		}
	}
	if send == nil || len(creates) != 3 {
		t.Fatalf("spans %v, want three create spans and a send span", names(sr.Ended()))
	}
	if send.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("send span's parent %v, want the caller's", send.Parent().SpanID())
	}
	if len(send.Links()) != 3 {
		t.Errorf("send span has %d links, want 3", len(send.Links()))
	}
	host, port, _ := splitAddr(t, srv.Addr())
	wantAttr(t, send, "server.address", host)
	wantAttr(t, send, "server.port", port)
	wantAttr(t, send, "messaging.system", "redis")
	wantAttr(t, send, "messaging.batch.message_count", 3)
	nested := 0
	for _, s := range sr.Ended() {
		if s.InstrumentationScope().Name != rgotel.ScopeName && s.Name() != "caller" && s.Parent().SpanID() == send.SpanContext().SpanID() {
			nested++
		}
	}
	if nested == 0 {
		t.Errorf("no redis command span under the send span: %v", names(sr.Ended()))
	}

	// Each process span links to its message's create span.
	done := make(chan struct{}, len(reqs))
	h := rgotel.Middleware(opts...)(core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		done <- struct{}{}
		return core.Success()
	}))
	drain(t, b, queue, h, done, len(reqs), "the batch")
	processed := 0
	for _, s := range sr.Ended() {
		if s.Name() != "process "+queue {
			continue
		}
		processed++
		id := attrs(s)["messaging.message.id"].AsString()
		if l := s.Links(); len(l) != 1 || creates[l[0].SpanContext.SpanID()] != id {
			t.Errorf("process span of %s links to %v, want its create span", id, l)
		}
	}
	if processed != 3 {
		t.Errorf("%d process spans, want 3", processed)
	}
}

func splitAddr(t *testing.T, addr string) (string, int, bool) {
	t.Helper()
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			p, err := strconv.Atoi(addr[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			return addr[:i], p, true
		}
	}
	t.Fatalf("address %q without a port", addr)
	return "", 0, false
}

// A backend that knows no server address (memqueue) leaves the attributes
// out.
func TestPublishServerAddressOptional(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	sr, tp := newRecorder(t)
	pub := core.NewPublisher(b, core.WithPublishMiddleware(rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp))))
	if _, err := pub.Enqueue(context.Background(), "q", []byte("x")); err != nil {
		t.Fatal(err)
	}
	s := sr.Ended()[0]
	if _, ok := attrs(s)["server.address"]; ok {
		t.Errorf("memqueue send span has server.address %v", attrs(s)["server.address"].AsInterface())
	}
	wantAttr(t, s, "messaging.system", "memory")
}
