package otel_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Redis commands are traced by go-redis's own instrumentation, redisotel.
// WithDBStatement(false) keeps the commands' arguments, message payloads
// among them, out of the spans. (Here no server answers: the command's span
// records the failure.)
func Example_redisCommands() {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer client.Close()

	if err := redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(tp), // default: the global provider
		redisotel.WithDBStatement(false),
	); err != nil {
		log.Fatal(err)
	}

	err := client.Get(context.Background(), "greeting").Err()
	fmt.Println("failed:", err != nil && !errors.Is(err, redis.Nil))
	for _, s := range sr.Ended() {
		if s.Name() == "get" {
			fmt.Println(s.Name(), s.SpanKind(), s.Status().Code == codes.Error)
		}
	}
	// Output:
	// failed: true
	// get client true
}
