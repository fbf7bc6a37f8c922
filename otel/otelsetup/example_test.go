package otelsetup_test

import (
	"context"
	"fmt"
	"log"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/redghost/redghost/otel/otelsetup"
)

// A worker that keeps 10% of the messages it handles on its own, and every
// handling of a message whose producer's trace was kept. (WithSpanExporter
// stands in for the exporter the OTEL_* variables would choose.)
func ExampleLinkedParentSampler() {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := otelsetup.Setup(context.Background(), "mailer",
		otelsetup.WithSampler(otelsetup.LinkedParentSampler(sdktrace.TraceIDRatioBased(0.1))),
		otelsetup.WithSpanExporter(exp),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	fmt.Println(otelsetup.LinkedParentSampler(sdktrace.TraceIDRatioBased(0.1)).Description())
	// Output:
	// LinkedParentSampler{root:TraceIDRatioBased{0.1}}
}
