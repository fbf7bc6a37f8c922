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
//
// The sampler sees the span's kind, its name, its parent and the
// attributes of its queue (messaging.system, messaging.destination.name,
// the operation and [WithAttributes]); the link to the producer and the
// attributes of the message (its id, body size and attempt) are added once
// the span is known to record. A span that does not record
// (not sampled) costs its start and nothing more.
func Middleware(opts ...Option) core.Middleware {
	c := newConfig(opts)
	sp := newSpecs(trace.SpanKindConsumer, semconv.MessagingOperationTypeProcess, "process", c.attrs)
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) (res core.Result) {
			ctx, span := c.start(ctx, sp, m)
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

// linkAttrs are the attributes of the link to the producer's span.
var linkAttrs = []attribute.KeyValue{semconv.MessagingOperationTypeSend}

func (c *config) start(ctx context.Context, sp *specs, m *core.Message) (context.Context, trace.Span) {
	spec := sp.get(ctx, m.Queue)
	sopts := spec.opts
	// Extract into the worker's context: the remote span context becomes
	// the parent (child mode), and baggage reaches the handler. Headers
	// that carry nothing are not looked at.
	var producer trace.SpanContext
	if len(m.Headers) > 0 {
		ctx = c.prop.Extract(ctx, HeaderCarrier(m.Headers))
		if !c.child {
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsRemote() {
				producer = sc
				sopts = spec.newRoot
			}
		}
	}
	ctx, span := c.tracer.Start(ctx, spec.name, sopts...)
	if span.IsRecording() {
		if producer.IsValid() {
			span.AddLink(trace.Link{SpanContext: producer, Attributes: linkAttrs})
		}
		span.SetAttributes(
			semconv.MessagingMessageID(m.ID),
			semconv.MessagingMessageBodySize(len(m.Payload)),
			AttemptKey.Int(m.Attempt),
		)
		if len(c.attrsAfter) > 0 {
			// WithAttributes has the last word, as if given last.
			span.SetAttributes(c.attrsAfter...)
		}
	}
	return ctx, span
}

// outcomeAttrs are the outcome attributes, by outcome.
var outcomeAttrs = [...][]attribute.KeyValue{
	core.OutcomeSuccess: {OutcomeKey.String(core.OutcomeSuccess.String())},
	core.OutcomeRetry:   {OutcomeKey.String(core.OutcomeRetry.String())},
	core.OutcomeError:   {OutcomeKey.String(core.OutcomeError.String())},
}

func end(span trace.Span, res core.Result) {
	if !span.IsRecording() {
		span.End()
		return
	}
	outcome := res.Outcome
	if outcome > core.OutcomeError {
		outcome = core.OutcomeError // the worker treats unknown outcomes as errors
	}
	if res.Backoff > 0 && outcome != core.OutcomeError {
		span.SetAttributes(outcomeAttrs[outcome][0], BackoffKey.Float64(res.Backoff.Seconds()))
	} else {
		span.SetAttributes(outcomeAttrs[outcome]...)
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
