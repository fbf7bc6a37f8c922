package otel

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
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// SetupOption configures [Setup].
type SetupOption func(*setupConfig)

type setupConfig struct {
	exporter sdktrace.SpanExporter
	attrs    []attribute.KeyValue
}

// WithSpanExporter exports to exp instead of the OTLP exporter the
// environment describes (for tests, or another exporter).
func WithSpanExporter(exp sdktrace.SpanExporter) SetupOption {
	return func(c *setupConfig) { c.exporter = exp }
}

// WithResourceAttributes adds attributes to the resource (after the service
// name; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME still win).
func WithResourceAttributes(attrs ...attribute.KeyValue) SetupOption {
	return func(c *setupConfig) { c.attrs = append(c.attrs, attrs...) }
}

// Setup installs tracing for an application and returns the function that
// flushes and stops it; call that on the way out with a deadline.
//
// It builds an OTLP span exporter from the standard environment variables:
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL picks
// "http/protobuf" (the default) or "grpc"; OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, _TIMEOUT and _INSECURE are
// read by the exporter itself. OTEL_TRACES_EXPORTER=none exports nothing,
// and OTEL_SDK_DISABLED=true installs nothing. The resource carries
// serviceName (overridden by OTEL_SERVICE_NAME) and OTEL_RESOURCE_ATTRIBUTES;
// the sampler and the batch span processor read OTEL_TRACES_SAMPLER and
// OTEL_BSP_*. The tracer provider and the W3C trace-context and baggage
// propagators become the globals.
func Setup(ctx context.Context, serviceName string, opts ...SetupOption) (shutdown func(context.Context) error, err error) {
	var c setupConfig
	for _, o := range opts {
		o(&c)
	}
	noop := func(context.Context) error { return nil }
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return noop, nil
	}

	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(serviceName)),
		resource.WithAttributes(c.attrs...),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return noop, fmt.Errorf("redghost/otel: resource: %w", err)
	}

	exp := c.exporter
	if exp == nil && !strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		if exp, err = otlpExporter(ctx); err != nil {
			return noop, err
		}
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exp != nil {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	otelapi.SetTracerProvider(tp)
	otelapi.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, nil
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
	return nil, errors.New("redghost/otel: OTEL_EXPORTER_OTLP_PROTOCOL " + proto + " is not supported (use http/protobuf or grpc)")
}
