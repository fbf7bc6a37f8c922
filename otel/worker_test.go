package otel_test

import (
	"context"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	rgotel "github.com/redghost/redghost/otel"
)

// Through a real publisher, backend and worker: the send span's context
// travels in the stored headers, and each attempt of a retried message gets
// its own process span linked to the same send span.
func TestThroughWorker(t *testing.T) {
	sr, tp := newRecorder(t)
	opts := []rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop)}
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	pub := core.NewPublisher(b, core.WithPublishMiddleware(rgotel.PublishMiddleware(opts...)))

	done := make(chan struct{})
	var calls atomic.Int32
	h := rgotel.Middleware(opts...)(core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if calls.Add(1) < 3 {
			return core.Retry(0)
		}
		close(done)
		return core.Success()
	}))
	if _, err := pub.Publish(context.Background(), "jobs", map[string]int{"n": 1}, core.WithID("m1")); err != nil {
		t.Fatal(err)
	}
	drain(t, b, "jobs", h, done, 1, "the message handled three times")

	var send tracetest.SpanStub
	var process []tracetest.SpanStub
	for _, s := range tracetest.SpanStubsFromReadOnlySpans(sr.Ended()) {
		switch s.Name {
		case "send jobs":
			send = s
		case "process jobs":
			process = append(process, s)
		}
	}
	if !send.SpanContext.IsValid() || len(process) != 3 {
		t.Fatalf("send %v, %d process spans; want one send and 3 attempts", send.SpanContext, len(process))
	}
	for i, p := range process {
		if len(p.Links) != 1 || p.Links[0].SpanContext.SpanID() != send.SpanContext.SpanID() {
			t.Errorf("attempt %d: links %v, want the send span", i+1, p.Links)
		}
		var attempt int64
		for _, kv := range p.Attributes {
			if kv.Key == rgotel.AttemptKey {
				attempt = kv.Value.AsInt64()
			}
		}
		if attempt != int64(i+1) {
			t.Errorf("span %d has attempt %d", i, attempt)
		}
		if p.Status.Code != codes.Unset {
			t.Errorf("attempt %d: status %v", i+1, p.Status)
		}
	}
}
