package otel

import (
	"strings"

	"go.opentelemetry.io/otel/propagation"
)

// HeaderCarrier adapts message headers to a [propagation.TextMapCarrier],
// so that a propagator can write trace context into a message and read it
// back. Set needs a non-nil map.
type HeaderCarrier map[string]string

var _ propagation.TextMapCarrier = HeaderCarrier(nil)

// Get returns the value of key. Propagators use lower-case keys; a header
// written by another producer with other case is found too.
func (c HeaderCarrier) Get(key string) string {
	if v, ok := c[key]; ok {
		return v
	}
	for k, v := range c {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// Set stores value under key.
func (c HeaderCarrier) Set(key, value string) { c[key] = value }

// Keys lists the header names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
