package otel

import (
	"context"
	"slices"

	"github.com/redghost/redghost/core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// PublishMiddleware traces enqueues: one PRODUCER span "send <queue>" per
// message of a batch, whose context is injected into that message's headers
// with the configured propagator. The request slice and the callers' header
// maps are copied, never written.
//
// A failure of the whole call, an invalid message or a backend error sets the
// span status to Error with error.type; a refusal (already queued, locked,
// backoff) is recorded in redghost.enqueue.result only.
func PublishMiddleware(opts ...Option) core.PublishMiddleware {
	c := newConfig(opts)
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			out := slices.Clone(reqs)
			spans := make([]trace.Span, len(out))
			for i := range out {
				r := &out[i]
				attrs := make([]attribute.KeyValue, 0, 7+len(c.attrs))
				attrs = append(attrs,
					messagingSystem(ctx),
					semconv.MessagingDestinationName(r.Queue),
					semconv.MessagingOperationTypeSend,
					semconv.MessagingOperationName("send"),
					semconv.MessagingMessageID(r.ID),
					semconv.MessagingMessageBodySize(len(r.Payload)),
				)
				if len(out) > 1 {
					attrs = append(attrs, semconv.MessagingBatchMessageCount(len(out)))
				}
				attrs = append(attrs, c.attrs...)
				sctx, span := c.tracer.Start(ctx, "send "+r.Queue,
					trace.WithSpanKind(trace.SpanKindProducer),
					trace.WithAttributes(attrs...))
				spans[i] = span
				h := make(map[string]string, len(r.Headers)+2)
				for k, v := range r.Headers {
					h[k] = v
				}
				// A message republished with the headers of another keeps
				// no stale tracestate or baggage next to the new traceparent.
				for _, f := range c.prop.Fields() {
					delete(h, f)
				}
				c.prop.Inject(sctx, HeaderCarrier(h))
				r.Headers = h
			}
			res, err := next.Send(ctx, out)
			for i, span := range spans {
				switch {
				case err != nil:
					span.RecordError(err)
					span.SetStatus(codes.Error, err.Error())
					span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)), EnqueueResultKey.String("failed"))
				case i < len(res):
					r := res[i]
					span.SetAttributes(EnqueueResultKey.String(r.Class()))
					if r.Err != nil && !core.IsRefusal(r.Err) {
						span.RecordError(r.Err)
						span.SetStatus(codes.Error, r.Err.Error())
						span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(r.Err)))
					}
				}
				span.End()
			}
			return res, err
		})
	}
}
