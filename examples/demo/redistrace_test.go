package main

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Through underSpan, a tracer starts nothing on a context without a span
// (a worker's polling) and a child span under one (a traced publish).
func TestUnderSpan(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := underSpan(tp).Tracer("redis")

	ctx, span := tr.Start(context.Background(), "bzpopmin")
	if span.IsRecording() || span.SpanContext().IsValid() || ctx != context.Background() {
		t.Errorf("a command outside any span started one: %v", span.SpanContext())
	}
	span.End()

	pctx, parent := tp.Tracer("app").Start(context.Background(), "send emails")
	_, child := tr.Start(pctx, "evalsha")
	child.End()
	parent.End()
	ended := sr.Ended()
	if len(ended) != 2 || ended[0].Name() != "evalsha" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v, want evalsha under send emails", ended)
	}
}
