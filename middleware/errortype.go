package middleware

// The errors of this package say their own low-cardinality class with an
// ErrorType method, which tracing finds with errors.As and records as the
// error.type attribute (the OpenTelemetry semantic conventions' way, see
// go.opentelemetry.io/otel/semconv's ErrorType). The outermost class in an
// error's chain wins: retries exhausted after a timeout are
// "retries_exhausted".

// classedError is a sentinel error with a class.
type classedError struct{ msg, class string }

func (e *classedError) Error() string     { return e.msg }
func (e *classedError) ErrorType() string { return e.class }

// classed returns a sentinel error whose ErrorType is class.
func classed(msg, class string) error { return &classedError{msg: msg, class: class} }

// ErrorType is "retries_exhausted".
func (e *ExhaustedError) ErrorType() string { return "retries_exhausted" }
