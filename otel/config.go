package otel

import (
	"sync/atomic"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package starts.
const ScopeName = "github.com/redghost/redghost/otel"

// Option configures [Middleware] and [PublishMiddleware].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp     trace.TracerProvider
	prop   propagation.TextMapPropagator
	child  bool
	attrs  []attribute.KeyValue
	tracer trace.Tracer
	// attrsAfter are the attributes of WithAttributes whose keys a span
	// also gets from its message: set again after those.
	attrsAfter []attribute.KeyValue
	// fields are prop.Fields(), once it names some (see propFields).
	fields atomic.Pointer[[]string]
}

// propFields answers the header names the propagator writes. They are
// asked until the propagator names some, then kept: a propagator's fields
// do not change, and the global one obtained before
// otelapi.SetTextMapPropagator names none until then, when it delegates to
// the first propagator set, for good. Asking on every message cost a map
// and three slices (a composite propagator builds its list anew).
func (c *config) propFields() []string {
	if f := c.fields.Load(); f != nil {
		return *f
	}
	f := c.prop.Fields()
	if len(f) > 0 {
		c.fields.Store(&f)
	}
	return f
}

// newConfig resolves the options once, when the middleware is built.
func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.tp == nil {
		c.tp = otelapi.GetTracerProvider()
	}
	if c.prop == nil {
		c.prop = otelapi.GetTextMapPropagator()
	}
	c.tracer = c.tp.Tracer(ScopeName)
	for _, a := range c.attrs {
		switch a.Key {
		case semconv.MessagingMessageIDKey, semconv.MessagingMessageBodySizeKey, AttemptKey, semconv.MessagingBatchMessageCountKey:
			c.attrsAfter = append(c.attrsAfter, a)
		}
	}
	return c
}

// WithTracerProvider sets the tracer provider (default: the global one, as
// of when the middleware is built; the global provider delegates to one set
// later).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithPropagators sets the propagator that writes and reads the trace
// context in the message headers (default: the global one).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.prop = p })
}

// WithChildOfProducer makes each process span a child of the span whose
// context the message carries (its send span, or its create span in a
// batch), so that the whole life of a message is one trace. By default the
// process span starts a new trace and links to that span; see
// otelsetup.LinkedParentSampler for keeping the two in step under ratio
// sampling without one trace per message.
func WithChildOfProducer() Option {
	return optionFunc(func(c *config) { c.child = true })
}

// WithAttributes adds attributes to every span.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, attrs...) })
}
