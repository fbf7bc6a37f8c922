package otel_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/redghost/redghost/core"
	rgotel "github.com/redghost/redghost/otel"
)

// The publisher's middleware writes the send span's context into the
// message headers; the worker's middleware reads it back and links the
// process span to it.
func Example() {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	opts := []rgotel.Option{rgotel.WithTracerProvider(tp), rgotel.WithPropagators(propagation.TraceContext{})}

	// A stand-in backend: hand every enqueued message straight to the handler.
	handler := rgotel.Middleware(opts...)(core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		return core.Success()
	}))
	backend := core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
		res := make([]core.EnqueueResult, len(reqs))
		for i, r := range reqs {
			handler.Handle(context.Background(), &core.Message{ID: r.ID, Queue: r.Queue, Payload: r.Payload, Headers: r.Headers, Attempt: 1})
			res[i] = core.EnqueueResult{ID: r.ID, Action: core.Added}
		}
		return res, nil
	})
	send := rgotel.PublishMiddleware(opts...)(backend)
	_, _ = send.Send(context.Background(), []core.EnqueueRequest{{Queue: "emails", ID: "welcome-42"}})

	spans := sr.Ended()
	process, sendSpan := spans[0], spans[1]
	fmt.Println(process.Name(), process.SpanKind())
	fmt.Println(sendSpan.Name(), sendSpan.SpanKind())
	fmt.Println("linked:", process.Links()[0].SpanContext.SpanID() == sendSpan.SpanContext().SpanID())
	// Output:
	// process emails consumer
	// send emails producer
	// linked: true
}
