package otelsetup_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/redghost/redghost/otel/otelsetup"
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
	shutdown, err := otelsetup.Setup(context.Background(), "checkout", otelsetup.WithSpanExporter(exp),
		otelsetup.WithResourceAttributes(attribute.String("team", "queues")))
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
			shutdown, err := otelsetup.Setup(context.Background(), "svc")
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
	shutdown, err := otelsetup.Setup(context.Background(), "svc")
	if err != nil || shutdown(context.Background()) != nil {
		t.Fatal(err)
	}
	if otelapi.GetTracerProvider() != before {
		t.Errorf("a disabled SDK replaced the global tracer provider")
	}
}

func TestSetupTracesExporter(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		restoreGlobals(t)
		t.Setenv("OTEL_TRACES_EXPORTER", "none")
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
		shutdown, err := otelsetup.Setup(context.Background(), "svc")
		if err != nil {
			t.Fatal(err)
		}
		// Spans are still real (recorded, propagated), only not exported.
		_, span := otelapi.Tracer("t").Start(context.Background(), "op")
		if !span.SpanContext().IsValid() || !span.IsRecording() {
			t.Errorf("with OTEL_TRACES_EXPORTER=none the span is not recorded: %v", span.SpanContext())
		}
		span.End()
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	t.Run("console", func(t *testing.T) {
		// The console exporter writes to the os.Stdout of its package's
		// init, so the child process's standard output is read here.
		cmd := exec.Command(os.Args[0], "-test.run=^TestConsoleChild$")
		cmd.Env = append(os.Environ(), "OTELSETUP_CONSOLE_CHILD=1", "OTEL_TRACES_EXPORTER=console")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), `"Name":"console-op"`) {
			t.Errorf("console exporter wrote %q, want the span as JSON", out)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		restoreGlobals(t)
		t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
		before := otelapi.GetTracerProvider()
		if _, err := otelsetup.Setup(context.Background(), "svc"); err == nil || !strings.Contains(err.Error(), "zipkin") {
			t.Fatalf("Setup with OTEL_TRACES_EXPORTER=zipkin: err %v, want one naming it", err)
		}
		if otelapi.GetTracerProvider() != before {
			t.Errorf("a failed Setup replaced the global tracer provider")
		}
	})
}

// TestConsoleChild is the child process of TestSetupTracesExporter/console.
func TestConsoleChild(t *testing.T) {
	if os.Getenv("OTELSETUP_CONSOLE_CHILD") != "1" {
		t.Skip("run by TestSetupTracesExporter")
	}
	restoreGlobals(t)
	shutdown, err := otelsetup.Setup(context.Background(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	_, span := otelapi.Tracer("t").Start(context.Background(), "console-op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
