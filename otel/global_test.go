package otel_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/redghost/redghost/core"
	rgotel "github.com/redghost/redghost/otel"
	otelapi "go.opentelemetry.io/otel"
)

// A publisher built before the application sets the global propagator
// uses the one set later, and replaces the stale trace context of a
// republished message with it. The global propagator, once set, stays set
// in the process, so the test runs in a process of its own.
func TestPublishGlobalPropagatorSetLater(t *testing.T) {
	if os.Getenv("REDGHOST_GLOBAL_PROPAGATOR_TEST") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPublishGlobalPropagatorSetLater$", "-test.v")
		cmd.Env = append(os.Environ(), "REDGHOST_GLOBAL_PROPAGATOR_TEST=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	_, tp := newRecorder(t)
	s := &echoSender{}
	send := rgotel.PublishMiddleware(rgotel.WithTracerProvider(tp))(s)
	old := map[string]string{
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":  "vendor=stale",
		"baggage":     "tenant=stale",
		"app":         "kept",
	}
	req := []core.EnqueueRequest{{Queue: "q", ID: "a", Headers: old}}
	if _, err := send.Send(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if h := s.got[0].Headers; h["traceparent"] != old["traceparent"] || h["tracestate"] != old["tracestate"] {
		t.Errorf("before a global propagator: headers %v, want them as they were", h)
	}
	otelapi.SetTextMapPropagator(prop)
	for i := range 2 {
		if _, err := send.Send(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		h := s.got[len(s.got)-1].Headers
		if h["traceparent"] == "" || h["traceparent"] == old["traceparent"] || h["tracestate"] != "" || h["baggage"] != "" || h["app"] != "kept" {
			t.Errorf("send %d after the global propagator: headers %v, want a new traceparent, no stale tracestate or baggage, app kept", i, h)
		}
	}
}
