package otelsetup_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"

	otelapi "go.opentelemetry.io/otel"

	"github.com/redghost/redghost/otel/otelsetup"
)

// resourceOf runs Setup (call restoreGlobals first, once) with an in-memory exporter and answers the resource
// attributes of one exported span.
func resourceOf(t *testing.T, serviceName string) map[string]string {
	t.Helper()
	exp := &keepExporter{}
	shutdown, err := otelsetup.Setup(context.Background(), serviceName, otelsetup.WithSpanExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otelapi.Tracer("t").Start(context.Background(), "op")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(exp.spans) != 1 {
		t.Fatalf("exported %d spans, want 1", len(exp.spans))
	}
	res := map[string]string{}
	for _, kv := range exp.spans[0].Resource().Attributes() {
		res[string(kv.Key)] = kv.Value.Emit()
	}
	return res
}

// Two workers of one service on one host are told apart by their
// instance id and pid; the host and runtime are named.
func TestSetupResourceNamesInstanceHostAndProcess(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name here:", err)
	}
	a, b := resourceOf(t, "mailer"), resourceOf(t, "mailer")
	for k, want := range map[string]string{
		"service.name":         "mailer",
		"host.name":            host,
		"process.pid":          strconv.Itoa(os.Getpid()),
		"process.runtime.name": "go",
		"os.type":              runtime.GOOS,
	} {
		if a[k] != want {
			t.Errorf("resource %s = %q, want %q (all %v)", k, a[k], want, a)
		}
	}
	if a["process.executable.name"] == "" || a["process.runtime.version"] == "" {
		t.Errorf("resource without the executable or runtime version: %v", a)
	}
	if _, ok := a["process.command_args"]; ok {
		t.Errorf("resource has the command line, which may hold secrets: %v", a["process.command_args"])
	}
	if a["service.instance.id"] == "" || a["service.instance.id"] == b["service.instance.id"] {
		t.Errorf("service.instance.id %q and %q, want two distinct ids", a["service.instance.id"], b["service.instance.id"])
	}
}

// The environment has the last word, service.instance.id included.
func TestSetupResourceFromEnv(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_SERVICE_NAME", "billing")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=worker-7,host.name=box")
	res := resourceOf(t, "mailer")
	for k, want := range map[string]string{"service.name": "billing", "service.instance.id": "worker-7", "host.name": "box"} {
		if res[k] != want {
			t.Errorf("resource %s = %q, want %q (all %v)", k, res[k], want, res)
		}
	}
}

// Without a service name from the program or the environment, the SDK's
// default names the executable rather than leaving it empty.
func TestSetupResourceDefaultServiceName(t *testing.T) {
	restoreGlobals(t)
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	res := resourceOf(t, "")
	if got := res["service.name"]; len(got) <= len("unknown_service:") || got[:len("unknown_service:")] != "unknown_service:" {
		t.Errorf("service.name %q, want unknown_service:<executable>", got)
	}
}
