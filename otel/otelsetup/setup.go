// Package otelsetup installs an OpenTelemetry SDK for an application: a
// tracer provider with a batch span processor, the exporter the standard
// OTEL_* environment variables choose, a resource that names the service,
// this instance of it, its host and its process, and
// the W3C trace-context and baggage propagators as the globals.
//
// It is kept apart from package otel so that the instrumentation imports the
// OpenTelemetry API only, as contrib instrumentation does: a library that
// uses otel.Middleware does not pull in the SDK, the OTLP exporters and gRPC.
// Libraries never call [Setup]; applications call it once in main.
package otelsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	otelapi "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Option configures [Setup].
type Option func(*config)

type config struct {
	exporter sdktrace.SpanExporter
	attrs    []attribute.KeyValue
	sampler  sdktrace.Sampler
}

// WithSpanExporter exports to exp instead of the exporter the environment
// chooses (for tests, or another exporter). OTEL_SDK_DISABLED=true still
// installs nothing.
func WithSpanExporter(exp sdktrace.SpanExporter) Option {
	return func(c *config) { c.exporter = exp }
}

// WithSampler samples with s instead of the sampler OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG choose (by default, every span whose parent is
// sampled and every root span). See [LinkedParentSampler] for a sampler
// that keeps the handlings of the messages whose producer was kept. A nil
// s leaves the choice to the environment.
func WithSampler(s sdktrace.Sampler) Option {
	return func(c *config) { c.sampler = s }
}

// WithResourceAttributes adds attributes to the resource (after the service
// name; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME still win).
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// Setup installs tracing for an application and returns the function that
// flushes and stops it; call that on the way out with a deadline.
//
// The environment decides, as the OpenTelemetry specification says:
//
//   - OTEL_SDK_DISABLED=true installs nothing: the globals stay as they
//     are (no-op unless something else set them) and shutdown does nothing.
//   - OTEL_TRACES_EXPORTER picks the exporter: "otlp" (the default),
//     "console" (spans as JSON lines on standard output, for a look without
//     a collector) or "none" (spans are created and propagated but not
//     exported). Any other value is an error.
//   - For otlp, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
//     OTEL_EXPORTER_OTLP_PROTOCOL picks "http/protobuf" (the default) or
//     "grpc"; OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
//     _HEADERS, _TIMEOUT and _INSECURE are read by the exporter itself.
//   - The resource tells one worker from another: service.name is
//     serviceName (overridden by OTEL_SERVICE_NAME; the SDK's
//     unknown_service:<executable> if both are empty), service.instance.id a
//     random UUID per Setup, plus host.name, process.pid,
//     process.executable.name, process.runtime.name/version/description,
//     os.type and the SDK's telemetry.sdk.*. OTEL_RESOURCE_ATTRIBUTES is
//     applied last and wins (set service.instance.id there to give a worker
//     a stable name, a pod name for example). The command line is left out:
//     it may hold secrets. The sampler (unless [WithSampler] gives one) and
//     the batch span processor read OTEL_TRACES_SAMPLER and OTEL_BSP_*.
//
// With no OTEL_* variable set, Setup exports every span over OTLP/HTTP to
// http://localhost:4318/v1/traces. Nothing is dialled at Setup: without a
// collector there, each batch fails to export (the SDK reports it through
// the OpenTelemetry error handler, by default a log line) and is dropped; the
// application runs on. Set OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true
// where no collector runs.
func Setup(ctx context.Context, serviceName string, opts ...Option) (shutdown func(context.Context) error, err error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	noop := func(context.Context) error { return nil }
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return noop, nil
	}

	res, err := newResource(ctx, serviceName, c.attrs)
	if err != nil {
		return noop, err
	}

	exp := c.exporter
	if exp == nil {
		if exp, err = envExporter(ctx); err != nil {
			return noop, err
		}
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if c.sampler != nil {
		tpOpts = append(tpOpts, sdktrace.WithSampler(c.sampler))
	}
	if exp != nil {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	otelapi.SetTracerProvider(tp)
	otelapi.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
}

// newResource describes this process, later sources winning: a random
// service.instance.id and the default service.name, serviceName, the
// attributes of WithResourceAttributes, the host (host.name), the process
// (process.pid, process.executable.name, process.runtime.*; not its
// command line or path, which may hold secrets), the OS type, the SDK, and
// last OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME. A detector that
// fails leaves its attributes out; the rest is kept.
func newResource(ctx context.Context, serviceName string, attrs []attribute.KeyValue) (*resource.Resource, error) {
	opts := []resource.Option{resource.WithService()}
	if serviceName != "" {
		opts = append(opts, resource.WithAttributes(semconv.ServiceName(serviceName)))
	}
	opts = append(opts,
		resource.WithAttributes(attrs...),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessExecutableName(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithProcessRuntimeDescription(),
		resource.WithOSType(),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	res, err := resource.New(ctx, opts...)
	if err != nil && res == nil {
		return nil, fmt.Errorf("redghost/otelsetup: resource: %w", err)
	}
	return res, nil
}

// envExporter is the exporter OTEL_TRACES_EXPORTER names; nil for "none".
func envExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	name := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")))
	switch name {
	case "", "otlp":
		return otlpExporter(ctx)
	case "none":
		return nil, nil
	case "console":
		return stdouttrace.New()
	}
	return nil, fmt.Errorf("redghost/otelsetup: OTEL_TRACES_EXPORTER %q is not supported (use otlp, console or none)", name)
}

func otlpExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.ToLower(strings.TrimSpace(proto)) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	}
	return nil, errors.New("redghost/otelsetup: OTEL_EXPORTER_OTLP_PROTOCOL " + proto + " is not supported (use http/protobuf or grpc)")
}
