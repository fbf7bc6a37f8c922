package otel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/redghost/redghost/core"
	rgotel "github.com/redghost/redghost/otel"
)

// WithAttributes puts its attributes on every span: a single send, a
// batch's create and send spans, a process span. One whose key a span also
// gets from its message or call (the message id, the attempt, the batch's
// message count) has the last word, as if given last.
func TestWithAttributesOnEverySpan(t *testing.T) {
	sr, tp := newRecorder(t)
	opts := []rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(prop), rgotel.WithAttributes(
		attribute.String("team", "billing"),
		semconv.MessagingMessageID("fixed"),
		rgotel.AttemptKey.Int(7),
		semconv.MessagingBatchMessageCount(99),
	)}
	send := rgotel.PublishMiddleware(opts...)(&echoSender{})
	ctx := context.Background()
	if _, err := send.Send(ctx, []core.EnqueueRequest{{Queue: "jobs", ID: "one"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := send.Send(ctx, []core.EnqueueRequest{{Queue: "jobs", ID: "a"}, {Queue: "jobs", ID: "b"}}); err != nil {
		t.Fatal(err)
	}
	h := rgotel.Middleware(opts...)(core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() }))
	h.Handle(ctx, &core.Message{ID: "m", Queue: "jobs", Attempt: 1})
	spans := sr.Ended()
	if len(spans) != 5 {
		t.Fatalf("spans %v, want a send, two creates, a batch's send and a process", names(spans))
	}
	for _, s := range spans {
		wantAttr(t, s, "team", "billing")
		wantAttr(t, s, "messaging.message.id", "fixed")
		wantAttr(t, s, "redghost.message.attempt", 7)
		wantAttr(t, s, "messaging.batch.message_count", 99)
	}
}
