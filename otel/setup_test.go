package otel_test

import (
	"context"
	"sync"
	"testing"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	rgotel "github.com/redghost/redghost/otel"
)

func restoreGlobals(t *testing.T) {
	tp, prop := otelapi.GetTracerProvider(), otelapi.GetTextMapPropagator()
	t.Cleanup(func() {
		if otelapi.GetTracerProvider() != tp {
			otelapi.SetTracerProvider(tp)
		}
		if otelapi.GetTextMapPropagator() != prop {
			otelapi.SetTextMapPropagator(prop)
		}
	})
}

// keepExporter keeps what it exported past Shutdown (the in-memory
// exporter of tracetest forgets it there).
type keepExporter struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (e *keepExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans = append(e.spans, spans...)
	return nil
}

func (e *keepExporter) Shutdown(context.Context) error { return nil }

func TestSetupExportsWithServiceName(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	exp := &keepExporter{}
	shutdown, err := rgotel.Setup(context.Background(), "checkout", rgotel.WithSpanExporter(exp),
		rgotel.WithResourceAttributes(attribute.String("team", "queues")))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otelapi.Tracer("t").Start(context.Background(), "op")
	span.End()
	if got := otelapi.GetTextMapPropagator().Fields(); len(got) < 2 {
		t.Errorf("propagator fields %v, want traceparent, tracestate and baggage", got)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.spans
	if len(spans) != 1 {
		t.Fatalf("exported %d spans after shutdown, want 1 (flushed)", len(spans))
	}
	res := map[string]string{}
	for _, kv := range spans[0].Resource().Attributes() {
		res[string(kv.Key)] = kv.Value.Emit()
	}
	for k, want := range map[string]string{"service.name": "checkout", "team": "queues", "deployment.environment.name": "test"} {
		if res[k] != want {
			t.Errorf("resource %s = %q, want %q (all %v)", k, res[k], want, res)
		}
	}
}

func TestSetupProtocols(t *testing.T) {
	for _, tc := range []struct {
		proto string
		ok    bool
	}{{"", true}, {"http/protobuf", true}, {"grpc", true}, {"http/json", false}} {
		t.Run(tc.proto, func(t *testing.T) {
			restoreGlobals(t)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.proto)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // never reached: nothing is exported
			shutdown, err := rgotel.Setup(context.Background(), "svc")
			if (err == nil) != tc.ok {
				t.Fatalf("Setup with protocol %q: err %v, want ok=%v", tc.proto, err, tc.ok)
			}
			if err := shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

func TestSetupDisabled(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_SDK_DISABLED", "true")
	before := otelapi.GetTracerProvider()
	shutdown, err := rgotel.Setup(context.Background(), "svc")
	if err != nil || shutdown(context.Background()) != nil {
		t.Fatal(err)
	}
	if otelapi.GetTracerProvider() != before {
		t.Errorf("a disabled SDK replaced the global tracer provider")
	}
}
