package core

// Each error type of this package says its own low-cardinality class with
// an ErrorType method, which tracing finds with errors.As and records as
// the error.type attribute (the OpenTelemetry semantic conventions' way,
// see go.opentelemetry.io/otel/semconv's ErrorType).

// ErrorType is "panic".
func (e *PanicError) ErrorType() string { return "panic" }

// ErrorType is "decode".
func (e *DecodeError) ErrorType() string { return "decode" }

// ErrorType is "invalid".
func (e *InvalidError) ErrorType() string { return "invalid" }
