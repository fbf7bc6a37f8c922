package otel

import (
	"context"
	"slices"

	"github.com/redghost/redghost/core"
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
//
// As with [Middleware], the sampler sees the attributes of the queue; those
// of the message are added to spans that record.
func PublishMiddleware(opts ...Option) core.PublishMiddleware {
	c := newConfig(opts)
	sp := newSpecs(trace.SpanKindProducer, semconv.MessagingOperationTypeSend, "send", c.attrs)
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			out := slices.Clone(reqs)
			spans := make([]trace.Span, len(out))
			fields := c.fields
			if fields == nil {
				fields = c.prop.Fields()
			}
			for i := range out {
				r := &out[i]
				spec := sp.get(ctx, r.Queue)
				sctx, span := c.tracer.Start(ctx, spec.name, spec.opts...)
				if span.IsRecording() {
					span.SetAttributes(
						semconv.MessagingMessageID(r.ID),
						semconv.MessagingMessageBodySize(len(r.Payload)),
					)
					if len(out) > 1 {
						span.SetAttributes(semconv.MessagingBatchMessageCount(len(out)))
					}
					if len(c.attrsAfter) > 0 {
						span.SetAttributes(c.attrsAfter...)
					}
				}
				spans[i] = span
				h := make(map[string]string, len(r.Headers)+2)
				for k, v := range r.Headers {
					h[k] = v
				}
				// A message republished with the headers of another keeps
				// no stale tracestate or baggage next to the new traceparent.
				for _, f := range fields {
					delete(h, f)
				}
				c.prop.Inject(sctx, HeaderCarrier(h))
				r.Headers = h
			}
			res, err := next.Send(ctx, out)
			for i, span := range spans {
				if !span.IsRecording() {
					span.End()
					continue
				}
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
