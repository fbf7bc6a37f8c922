package otel

import (
	"context"
	"fmt"

	"github.com/redghost/redghost/core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Middleware traces handling: one CONSUMER span "process <queue>" per
// attempt. The producer's context is read from the message headers; the
// span links to it (default) or is its child ([WithChildOfProducer]).
// Baggage from the headers reaches the handler's context either way.
//
// The span records the attempt and the outcome. An error outcome sets
// status Error and error.type; a retry adds a "retry" event with the backoff
// and, if the retry carries an error, marks the attempt as failed the same
// way. A panic ends the span as an error (error.type "panic") and panics
// again.
func Middleware(opts ...Option) core.Middleware {
	c := newConfig(opts)
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) (res core.Result) {
			ctx, span := c.start(ctx, m)
			defer func() {
				if v := recover(); v != nil {
					err := &core.PanicError{Value: v}
					span.SetAttributes(OutcomeKey.String(core.OutcomeError.String()), semconv.ErrorTypeKey.String(ErrorType(err)))
					span.RecordError(err)
					span.SetStatus(codes.Error, fmt.Sprint("panic: ", v))
					span.End()
					panic(v)
				}
				end(span, res)
			}()
			return next.Handle(ctx, m)
		})
	}
}

func (c *config) start(ctx context.Context, m *core.Message) (context.Context, trace.Span) {
	attrs := make([]attribute.KeyValue, 0, 7+len(c.attrs))
	attrs = append(attrs,
		messagingSystem(ctx),
		semconv.MessagingDestinationName(m.Queue),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingMessageID(m.ID),
		semconv.MessagingMessageBodySize(len(m.Payload)),
		AttemptKey.Int(m.Attempt),
	)
	attrs = append(attrs, c.attrs...)
	sopts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...),
	}
	// Extract into the worker's context: the remote span context becomes
	// the parent (child mode), and baggage reaches the handler.
	ctx = c.prop.Extract(ctx, HeaderCarrier(m.Headers))
	if !c.child {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsRemote() {
			sopts = append(sopts, trace.WithNewRoot(), trace.WithLinks(trace.Link{
				SpanContext: sc,
				Attributes:  []attribute.KeyValue{semconv.MessagingOperationTypeSend},
			}))
		}
	}
	return c.tracer.Start(ctx, "process "+m.Queue, sopts...)
}

func end(span trace.Span, res core.Result) {
	outcome := res.Outcome
	if outcome > core.OutcomeError {
		outcome = core.OutcomeError // the worker treats unknown outcomes as errors
	}
	span.SetAttributes(OutcomeKey.String(outcome.String()))
	if res.Backoff > 0 && outcome != core.OutcomeError {
		span.SetAttributes(BackoffKey.Float64(res.Backoff.Seconds()))
	}
	switch outcome {
	case core.OutcomeRetry:
		ev := []attribute.KeyValue{BackoffKey.Float64(res.Backoff.Seconds())}
		if res.Err != nil {
			ev = append(ev, semconv.ErrorTypeKey.String(ErrorType(res.Err)), attribute.String("error.message", res.Err.Error()))
		}
		span.AddEvent("retry", trace.WithAttributes(ev...))
		if res.Err != nil {
			span.SetStatus(codes.Error, res.Err.Error())
			span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(res.Err)))
		}
	case core.OutcomeError:
		desc := "error outcome"
		if res.Err != nil {
			span.RecordError(res.Err)
			desc = res.Err.Error()
		}
		span.SetStatus(codes.Error, desc)
		span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(res.Err)))
	}
	span.End()
}
