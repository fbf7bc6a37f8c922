package otel

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Middleware traces handling: one CONSUMER span "process <queue>" per
// attempt. The producer's context is read from the message headers; the
// span links to it (default) or is its child ([WithChildOfProducer]).
// Baggage from the headers reaches the handler's context either way.
//
// The span records the attempts (the delivery count, and the attempt a
// middleware.Retry inside counted) and the outcome. An error outcome sets
// status Error and error.type; a retry adds a "retry" event with the backoff
// and, if the retry carries an error, marks the attempt as failed the same
// way. A rejection by an open circuit breaker is outcome "rejected" with a
// "rejected" event, its status unset. A panic ends the span as an error
// (error.type "panic", its stack in the exception event) and panics again.
//
// The sampler sees the span's kind, its name, its parent, the attributes
// of its queue (messaging.system, messaging.destination.name, the operation
// and [WithAttributes]) and the link to the producer when the producer was
// sampled (so that otelsetup.LinkedParentSampler can keep the process spans
// of kept producers); a link to a producer that was not sampled and the
// attributes of the message (its id, body size and attempt) are added once
// the span is known to record. A span that does not record (not sampled)
// costs its start and nothing more, unless its producer was sampled.
func Middleware(opts ...Option) core.Middleware {
	c := newConfig(opts)
	sp := newSpecs(trace.SpanKindConsumer, semconv.MessagingOperationTypeProcess, "process", c.attrs)
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) (res core.Result) {
			ctx, span, report := c.start(ctx, sp, m)
			defer func() {
				if v := recover(); v != nil {
					err := core.NewPanicError(v)
					sc := getScratch()
					sc.attrs = append(c.endAttrs(sc.attrs, m, report), OutcomeKey.String(core.OutcomeError.String()), semconv.ErrorTypeKey.String(ErrorType(err)))
					span.SetAttributes(sc.attrs...)
					sc.put()
					recordError(span, err)
					span.SetStatus(codes.Error, fmt.Sprint("panic: ", v))
					span.End()
					panic(v)
				}
				c.end(span, m, res, report)
			}()
			return next.Handle(ctx, m)
		})
	}
}

// noParent is a span with an invalid span context, boxed once: over an
// extracted one, it makes the process span a new root.
var noParent trace.Span = noop.Span{}

// linkAttrs are the attributes of the link to the producer's span.
var linkAttrs = []attribute.KeyValue{semconv.MessagingOperationTypeSend}

func (c *config) start(ctx context.Context, sp *specs, m *core.Message) (context.Context, trace.Span, *middleware.AttemptReport) {
	spec := sp.get(ctx, m.Queue)
	sopts := spec.opts
	var sc *scratch
	// Extract into the worker's context: the remote span context becomes
	// the parent (child mode), and baggage reaches the handler. Headers
	// that carry nothing are not looked at.
	var producer trace.SpanContext
	if len(m.Headers) > 0 {
		ctx = c.prop.Extract(ctx, readCarrier(m.Headers))
		if !c.child {
			if psc := trace.SpanContextFromContext(ctx); psc.IsValid() && psc.IsRemote() {
				producer = psc
				// A new root: the producer's span context is hidden
				// from the tracer, what WithNewRoot does at twice the
				// cost (two allocations to our one).
				ctx = trace.ContextWithSpan(ctx, noParent)
				if psc.IsSampled() {
					// The sampler sees the link to a sampled producer
					// (see otelsetup.LinkedParentSampler); the link to
					// one that was not kept is added only if the span
					// records, so that it costs nothing otherwise.
					sc = getScratch()
					sopts = sc.withLinkTo(sopts, psc, linkAttrs)
					producer = trace.SpanContext{}
				}
			}
		}
	}
	ctx, span := c.tracer.Start(ctx, spec.name, sopts...)
	var report *middleware.AttemptReport
	if span.IsRecording() {
		ctx, report = middleware.WithAttemptReport(ctx)
		if producer.IsValid() {
			span.AddLink(trace.Link{SpanContext: producer, Attributes: linkAttrs})
		}
		// The attributes of the message are set when the span ends,
		// with its outcome (see endAttrs).
	}
	if sc != nil {
		sc.put()
	}
	return ctx, span, report
}

// outcomeAttrs are the outcome attributes, by outcome.
var outcomeAttrs = [...][]attribute.KeyValue{
	core.OutcomeSuccess: {OutcomeKey.String(core.OutcomeSuccess.String())},
	core.OutcomeRetry:   {OutcomeKey.String(core.OutcomeRetry.String())},
	core.OutcomeError:   {OutcomeKey.String(core.OutcomeError.String())},
}

// rejectedAttrs is the outcome attribute of a breaker's rejection.
var rejectedAttrs = []attribute.KeyValue{OutcomeKey.String(OutcomeRejected)}

// endAttrs appends to attrs the attributes a recording span gets when it
// ends: those of the message (its id, body size and attempt), then
// WithAttributes' own values for those keys (WithAttributes has the last
// word, as if given last), then the attempt a Retry inside counted, if
// one did. They go to the SDK in one SetAttributes call with the
// outcome's: the SDK grows the span's attribute slice on each call that
// overflows it, so that one call where there were three saves two
// allocations and 1,088 B per message in the README's chain (nine
// attributes; BenchmarkMiddleware/chain), none with eight or fewer. Span
// processors see the same attributes at OnStart (the queue's, given to
// Start) and at OnEnd (all of them).
func (c *config) endAttrs(attrs []attribute.KeyValue, m *core.Message, report *middleware.AttemptReport) []attribute.KeyValue {
	attrs = append(attrs,
		semconv.MessagingMessageID(m.ID),
		semconv.MessagingMessageBodySize(len(m.Payload)),
		AttemptKey.Int(m.Attempt),
	)
	attrs = append(attrs, c.attrsAfter...)
	if n := report.HandlerAttempt(); n > 0 {
		attrs = append(attrs, HandlerAttemptKey.Int(n))
	}
	return attrs
}

func (c *config) end(span trace.Span, m *core.Message, res core.Result, report *middleware.AttemptReport) {
	if !span.IsRecording() {
		span.End()
		return
	}
	sc := getScratch()
	attrs := c.endAttrs(sc.attrs, m, report)
	outcome := res.Outcome
	if outcome > core.OutcomeError {
		outcome = core.OutcomeError // the worker treats unknown outcomes as errors
	}
	// Turned away by an open breaker: the handler was not called, so
	// nothing failed; the status stays unset.
	rejected := outcome == core.OutcomeRetry && res.Err != nil && errors.Is(res.Err, middleware.ErrBreakerOpen)
	var errType attribute.KeyValue
	if outcome == core.OutcomeError || res.Err != nil && outcome == core.OutcomeRetry {
		errType = semconv.ErrorTypeKey.String(ErrorType(res.Err))
	}
	switch {
	case rejected:
		attrs = append(attrs, rejectedAttrs...)
	case res.Backoff > 0 && outcome != core.OutcomeError:
		attrs = append(attrs, outcomeAttrs[outcome][0], BackoffKey.Float64(res.Backoff.Seconds()))
	default:
		attrs = append(attrs, outcomeAttrs[outcome]...)
	}
	if errType.Valid() && !rejected {
		attrs = append(attrs, errType)
	}
	span.SetAttributes(attrs...)
	sc.attrs = attrs
	sc.put()
	switch {
	case rejected:
		errorEvent(span, "rejected", res, errType, res.Err.Error())
	case outcome == core.OutcomeRetry && res.Err == nil:
		span.AddEvent("retry", trace.WithAttributes(BackoffKey.Float64(res.Backoff.Seconds())))
	case outcome == core.OutcomeRetry:
		msg := res.Err.Error()
		errorEvent(span, "retry", res, errType, msg)
		span.SetStatus(codes.Error, msg)
	case outcome == core.OutcomeError:
		desc := "error outcome"
		if res.Err != nil {
			recordError(span, res.Err)
			desc = res.Err.Error()
		}
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}

// errorEvent adds the event name of a retry or a rejection that carries
// an error: its backoff, error type and error message (which semconv has
// no key for).
func errorEvent(span trace.Span, name string, res core.Result, errType attribute.KeyValue, msg string) {
	span.AddEvent(name, trace.WithAttributes(
		BackoffKey.Float64(res.Backoff.Seconds()),
		errType,
		attribute.String("error.message", msg),
	))
}

// recordError adds the exception event of err; for a panic, with the
// innermost [core.MaxPanicStackBytes] of its stack as exception.stacktrace,
// cut at a line.
func recordError(span trace.Span, err error) {
	var p *core.PanicError
	if !errors.As(err, &p) || len(p.Stack) == 0 {
		span.RecordError(err)
		return
	}
	stack := p.Stack
	if len(stack) > core.MaxPanicStackBytes {
		stack = stack[:core.MaxPanicStackBytes]
		if i := bytes.LastIndexByte(stack, '\n'); i > 0 {
			stack = stack[:i+1]
		}
	}
	span.RecordError(err, trace.WithAttributes(semconv.ExceptionStacktrace(string(stack))))
}
