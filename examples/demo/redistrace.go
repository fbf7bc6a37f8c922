package main

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// underSpan wraps tp so that its tracers start a span only when the context
// already carries one. Given to go-redis's redisotel, it keeps the Redis
// commands of a traced publish or handler in their trace, while a worker's
// own polling, acknowledgements and heartbeats, which run on contexts
// without a span, do not start a trace each.
func underSpan(tp trace.TracerProvider) trace.TracerProvider {
	return underSpanProvider{tp: tp}
}

type underSpanProvider struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p underSpanProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return underSpanTracer{t: p.tp.Tracer(name, opts...)}
}

type underSpanTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (t underSpanTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx) // a no-op span
	}
	return t.t.Start(ctx, name, opts...)
}
