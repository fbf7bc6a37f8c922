// Package otel traces Red Ghost messages with OpenTelemetry, from the
// publisher through the message headers to every handling attempt.
//
// The package is named otel after its directory. A program that also imports
// go.opentelemetry.io/otel names one of the two, for example:
//
//	import (
//		"go.opentelemetry.io/otel"
//		rgotel "github.com/redghost/redghost/otel"
//	)
//
// # Spans
//
// [PublishMiddleware] follows the messaging conventions for producers. A
// call with one message starts one PRODUCER span named "send <queue>" and
// injects its context into the message headers with the configured
// propagator (W3C traceparent and tracestate, plus baggage, by default). A
// batch (several messages in one call, as [core.Publisher.EnqueueBatch]
// makes) starts one PRODUCER span "create <queue>" per message, injected
// into that message, and one CLIENT span "send <queue>" for the call, linked
// to the create spans, with messaging.batch.message_count. The send span is
// the context the backend runs in, so go-redis's command spans nest under
// it, and carries server.address and server.port when the backend knows
// them ([core.ServerAddresser]). The caller's header map is copied first,
// never written.
//
// [Middleware] starts one CONSUMER span named "process <queue>" per handling
// attempt. A message may be handled hours after it was sent, so by default
// the process span starts a trace of its own and LINKS to the span whose
// context the message carries (its send span, or its create span in a
// batch); [WithChildOfProducer] makes it a child of that span instead, so
// that publisher and handlers share one trace.
//
// Attributes follow the OpenTelemetry semantic conventions v1.43.0 for
// messaging: messaging.system (the backend's name for itself, "redis" or
// "memory", see [core.SystemNamer]; [DefaultSystem] when the context names
// none), messaging.destination.name,
// messaging.operation.type and messaging.operation.name, messaging.message.id
// and messaging.message.body.size. Red Ghost adds redghost.outcome (success,
// retry, error, rejected), redghost.backoff (seconds, when the handling asks
// for one) and two attempt numbers:
//
//   - redghost.message.attempt is the backend's delivery count
//     ([core.Message.Attempt]): every handling of this copy of the message
//     counts, those an open circuit breaker turned away included.
//   - redghost.message.handler_attempt is the attempt middleware.Retry
//     counted: deliveries minus the breaker's rejections it remembers. It is
//     the number Retry's "retries exhausted after N attempts" names, the one
//     the handler sees in Message.Attempt, and the one to compare with
//     middleware.WithRetryMaxAttempts. On a rejection it is the attempt the
//     handling would have been. Only set when a Retry is in the chain.
//
// The Logging middleware writes the same two numbers as attempt and
// handler_attempt (the latter when they differ).
//
// # Rejections
//
// A handling an open circuit breaker turns away (a retry whose error
// matches middleware.ErrBreakerOpen, as metrics.OutcomeRejected counts it)
// is not a failure: the handler never ran. Its span has redghost.outcome
// "rejected", its status stays unset and a "rejected" event carries the
// backoff, error.type "circuit_open" and the error text.
//
// An error outcome sets the span status to Error and error.type to a low
// cardinality class (see [ErrorType]): the class the error names with an
// ErrorType() string method ("panic", "retries_exhausted", "circuit_open",
// "timeout", "decode", "invalid" for Red Ghost's; your own error types may
// say theirs the same way), "timeout" or "canceled" for a context error, or
// the Go type of the error. The error is recorded as an "exception" event
// (exception.type, exception.message); for a panic, with the innermost
// [core.MaxPanicStackBytes] of its stack as exception.stacktrace, whether
// the panic reached [Middleware] or middleware.Recover turned it into an
// error outcome further in. A retry that carries an error (other than a
// rejection) marks the attempt the same
// way and adds a "retry" event with the backoff; a retry without an error
// (not yet, try later) only adds the event. Enqueue refusals (already queued,
// locked, backoff) are answers, not failures: they are recorded as the
// redghost.enqueue.result attribute and leave the status unset.
//
// # Sampling
//
// A process span starts a trace of its own, so a ratio sampler decides it
// apart from its producer and its link may point at a trace that was not
// kept. otelsetup.LinkedParentSampler keeps a process span whose producer
// was sampled (the link to a sampled producer is given at the span's start,
// where samplers see it). [WithChildOfProducer] is the other way: one trace
// per message, sampled once, at the price of traces that stay open as long
// as the message is retried.
//
// # Order in a middleware chain
//
// Put [Middleware] first (outermost), so that its span covers the other
// middleware (retry, timeout, circuit breaker) and the span is in the context
// the metrics middleware reads its exemplars from:
//
//	middleware.Chain(rgotel.Middleware(), m.Middleware(), middleware.Recover(), ...)
//
// [Middleware] also sees a handler's panic: it ends the span as an error and
// panics again, for the recover middleware or the worker to turn into an
// error outcome.
//
// # Redis commands
//
// Redis commands are traced by go-redis's own instrumentation,
// github.com/redis/go-redis/extra/redisotel/v9 (redisotel.InstrumentTracing).
// It traces every command, a worker's polling, heartbeats and
// acknowledgements included, each as a trace of its own; examples/demo shows
// how to keep only the commands run under a span, and turns off the command
// text (which holds message payloads) with redisotel.WithDBStatement(false).
//
// # Setup
//
// This package imports the OpenTelemetry API only. An application installs
// an SDK itself, or with the helper in package
// github.com/redghost/redghost/otel/otelsetup: an exporter chosen by the
// standard OTEL_* environment variables, a resource with the service name,
// a batch span processor, and the global tracer provider and W3C
// propagators. Libraries never call it.
package otel
