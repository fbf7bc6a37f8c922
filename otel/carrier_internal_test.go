package otel

import (
	"testing"
)

// readCarrier finds a header in any case, as HeaderCarrier does, whatever
// case the propagator asks in.
func TestReadCarrier(t *testing.T) {
	cases := []struct {
		headers map[string]string
		key     string
		want    string
	}{
		{map[string]string{"traceparent": "x"}, "traceparent", "x"},
		{map[string]string{"traceparent": "x"}, "tracestate", ""},
		{map[string]string{"traceparent": "x"}, "Traceparent", "x"},
		{map[string]string{"x-custom": "y"}, "X-Custom", "y"},
		{map[string]string{"Traceparent": "x"}, "traceparent", "x"},
		{map[string]string{"traceparent": "x", "BAGGAGE": "b=1"}, "baggage", "b=1"},
		// U+017F (long s) folds to s.
		{map[string]string{"trace\u017ftate": "s"}, "tracestate", "s"},
		{map[string]string{}, "baggage", ""},
		{map[string]string{"traceparent": "x", "baggage": "b=1"}, "Baggage", "b=1"},
		{map[string]string{"traceparent": "x", "Tracestate": "t"}, "tracestate", "t"},
		{map[string]string{"traceparent": "x", "tracestate": "t", "BAGGAGE": "b"}, "baggage", "b"},
		{map[string]string{"traceparent": "x", "app": "y"}, "App", "y"},
	}
	for _, tc := range cases {
		c := readCarrier(tc.headers)
		if got, want := c.Get(tc.key), HeaderCarrier(tc.headers).Get(tc.key); got != tc.want || want != tc.want {
			t.Errorf("%v: Get(%q) = %q (HeaderCarrier %q), want %q", tc.headers, tc.key, got, want, tc.want)
		}
		if len(c.Keys()) != len(tc.headers) {
			t.Errorf("%v: keys %v", tc.headers, c.Keys())
		}
	}
}

func BenchmarkReadCarrier(b *testing.B) {
	h := map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	for range b.N {
		c := readCarrier(h)
		_ = c.Get("tracestate")
		_ = c.Get("baggage")
	}
}
