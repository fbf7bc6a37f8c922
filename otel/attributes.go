package otel

import (
	"context"
	"errors"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Attribute keys Red Ghost adds to the semantic conventions.
const (
	// AttemptKey is the handling attempt, starting at 1.
	AttemptKey = attribute.Key("redghost.message.attempt")
	// OutcomeKey is the handler's outcome: success, retry or error.
	OutcomeKey = attribute.Key("redghost.outcome")
	// BackoffKey is the backoff the handler asked for, in seconds.
	BackoffKey = attribute.Key("redghost.backoff")
	// EnqueueResultKey is what an enqueue did: added, updated,
	// already_queued, locked, backoff, invalid or failed.
	EnqueueResultKey = attribute.Key("redghost.enqueue.result")
)

// messagingSystem is the messaging.system value: the semantic conventions
// have no constant for Redis, and name it as a custom value.
var messagingSystem = semconv.MessagingSystemKey.String("redis")

// ErrorType classifies err into a low-cardinality error.type value: "panic"
// for a [*core.PanicError], "retries_exhausted" for the middleware's
// [middleware.ErrRetriesExhausted], "circuit_open" for
// [middleware.ErrBreakerOpen], "timeout" for [middleware.ErrTimeout] or a
// deadline, "canceled" for a cancellation, "decode" for a
// [*core.DecodeError], "invalid" for an [*core.InvalidError], otherwise what
// [semconv.ErrorType] says (an ErrorType() method of the error, or its Go
// type). A nil error is "_OTHER".
func ErrorType(err error) string {
	var (
		pe *core.PanicError
		de *core.DecodeError
	)
	switch {
	case err == nil:
		return semconv.ErrorTypeOther.Value.AsString()
	case errors.As(err, &pe):
		return "panic"
	case errors.Is(err, middleware.ErrRetriesExhausted):
		return "retries_exhausted"
	case errors.Is(err, middleware.ErrBreakerOpen):
		return "circuit_open"
	case errors.Is(err, middleware.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &de):
		return "decode"
	case errors.Is(err, core.ErrInvalid):
		return "invalid"
	}
	return semconv.ErrorType(err).Value.AsString()
}
