package otel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Attribute keys Red Ghost adds to the semantic conventions.
const (
	// AttemptKey is the backend's delivery count of the message
	// ([core.Message.Attempt]), starting at 1: every handling counts,
	// breaker rejections included.
	AttemptKey = attribute.Key("redghost.message.attempt")
	// HandlerAttemptKey is the attempt a middleware.Retry inside counted
	// (breaker rejections excluded), the number its "retries exhausted
	// after N attempts" names; set only when a Retry saw the handling.
	HandlerAttemptKey = attribute.Key("redghost.message.handler_attempt")
	// OutcomeKey is the handling's outcome: success, retry, error, or
	// rejected ([OutcomeRejected]).
	OutcomeKey = attribute.Key("redghost.outcome")
	// BackoffKey is the backoff the handler asked for, in seconds.
	BackoffKey = attribute.Key("redghost.backoff")
	// EnqueueResultKey is what an enqueue did: added, updated,
	// already_queued, locked, backoff, invalid or failed.
	EnqueueResultKey = attribute.Key("redghost.enqueue.result")
)

// OutcomeRejected is the redghost.outcome of a handling an open circuit
// breaker turned away without calling the handler: a retry whose error
// matches middleware.ErrBreakerOpen, the rule metrics.OutcomeRejected
// follows too.
const OutcomeRejected = "rejected"

// DefaultSystem is the messaging.system value when the context names no
// backend's system (see [core.SystemFromContext]): a handler or sender
// called outside a worker or publisher, or a backend without a System
// method.
const DefaultSystem = "redghost"

// ErrorType classifies err into a low-cardinality error.type value. An error
// says its own class with an ErrorType() string method, found anywhere in
// its chain with errors.As, the outermost first (semconv's convention): Red
// Ghost's errors say "panic" ([*core.PanicError]), "decode"
// ([*core.DecodeError]), "invalid" ([*core.InvalidError]), "timeout",
// "circuit_open" and "retries_exhausted" (the middleware's). Otherwise a
// deadline is "timeout", a cancellation "canceled", and anything else its Go
// type, as [semconv.ErrorType] says. A nil error is "_OTHER".
func ErrorType(err error) string {
	if err == nil {
		return semconv.ErrorTypeOther.Value.AsString()
	}
	var et interface{ ErrorType() string }
	if errors.As(err, &et) {
		if s := et.ErrorType(); s != "" {
			return s
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return semconv.ErrorType(err).Value.AsString()
}
