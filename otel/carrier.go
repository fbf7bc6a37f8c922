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

// lowerCarrier is a HeaderCarrier whose keys are all lower-case ASCII, as
// propagators and Red Ghost's publisher write them: a lower-case key it
// does not hold cannot be there in another case, so Get answers a miss
// without going through every header (twice a message: tracestate and
// baggage are usually absent).
type lowerCarrier map[string]string

func (c lowerCarrier) Get(key string) string {
	if v, ok := c[key]; ok || isLowerASCII(key) {
		return v
	}
	return HeaderCarrier(c).Get(key)
}

func (c lowerCarrier) Set(key, value string) { c[key] = value }

func (c lowerCarrier) Keys() []string { return HeaderCarrier(c).Keys() }

// w3cFields are the headers the W3C propagators write, lower-case ASCII.
var w3cFields = [...]string{"traceparent", "tracestate", "baggage"}

// readCarrier answers the carrier to read h with: a lowerCarrier if all
// its keys are lower-case ASCII, else a HeaderCarrier. Headers that are
// all W3C ones (a message from a traced publisher, with no headers of its
// own) are told by looking them up, cheaper than going through the map.
func readCarrier(h map[string]string) propagation.TextMapCarrier {
	if len(h) <= len(w3cFields) {
		n := 0
		for _, f := range w3cFields {
			if _, ok := h[f]; ok {
				n++
			}
		}
		if n == len(h) {
			return lowerCarrier(h)
		}
	}
	for k := range h {
		if !isLowerASCII(k) {
			return HeaderCarrier(h)
		}
	}
	return lowerCarrier(h)
}

// isLowerASCII tells whether s has no upper-case letter and no byte past
// ASCII (some of which fold to ASCII letters: U+212A to k, U+017F to s).
func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}
