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

// PublishMiddleware traces enqueues, as the messaging semantic conventions
// say for single messages and batches:
//
//   - A call with one message makes one PRODUCER span "send <queue>", whose
//     context is injected into the message's headers.
//   - A call with several messages (a batch) makes one PRODUCER span
//     "create <queue>" per message, whose context is injected into that
//     message's headers, and one CLIENT span "send <queue>" for the call,
//     linked to every create span and carrying messaging.batch.message_count
//     ("send" alone, without messaging.destination.name, when the batch goes
//     to several queues). The create spans have the same parent as the send
//     span (the caller's span, if any) and end with the call, each with its
//     message's result.
//
// Either way the send span's context is the one passed to the backend, so
// its own spans (go-redis's command spans from redisotel) nest under it;
// and it carries server.address and server.port when the backend says them
// (see [core.ServerAddresser]). The request slice and the callers' header
// maps are copied, never written.
//
// A failure of the whole call sets the status of the send span and of every
// message's span to Error with error.type; an invalid message or a backend
// error for one message sets it on that message's span (the send span of a
// single message, its create span in a batch). A refusal (already queued,
// locked, backoff) is recorded in redghost.enqueue.result only.
//
// As with [Middleware], the sampler sees the attributes of the queue (and,
// for a batch's send span, its links); those of the message are added to
// spans that record.
func PublishMiddleware(opts ...Option) core.PublishMiddleware {
	c := newConfig(opts)
	p := &publisher{
		config: c,
		send:   newSpecs(trace.SpanKindProducer, semconv.MessagingOperationTypeSend, "send", c.attrs),
		create: newSpecs(trace.SpanKindProducer, semconv.MessagingOperationTypeCreate, "create", c.attrs),
		batch:  newSpecs(trace.SpanKindClient, semconv.MessagingOperationTypeSend, "send", c.attrs),
	}
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			switch len(reqs) {
			case 0:
				return next.Send(ctx, reqs)
			case 1:
				return p.sendOne(ctx, next, reqs)
			}
			return p.sendBatch(ctx, next, reqs)
		})
	}
}

type publisher struct {
	*config
	send, create, batch *specs
}

// sendOne traces a call with one message: one send span, injected.
func (p *publisher) sendOne(ctx context.Context, next core.Sender, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	out := slices.Clone(reqs)
	r := &out[0]
	spec := p.send.get(ctx, r.Queue)
	sctx, span := p.tracer.Start(ctx, spec.name, spec.opts...)
	p.inject(sctx, r)
	res, err := next.Send(sctx, out)
	if !span.IsRecording() {
		span.End()
		return res, err
	}
	// The message's and the server's attributes go with the result's in
	// one SetAttributes call: the SDK grows the span's attribute slice
	// on each call that overflows it (4, 8, then 16 slots for nine
	// attributes where one call makes 10).
	sc := getScratch()
	sc.attrs = p.messageAttrs(sc.attrs, r)
	sc.attrs = serverAttrs(ctx, sc.attrs)
	sc.attrs = append(sc.attrs, p.attrsAfter...)
	sc.attrs = p.endMessage(span, res, 0, err, sc.attrs)
	sc.put()
	return res, err
}

// sendBatch traces a call with several messages: a create span per
// message, injected, and a send span linked to them.
func (p *publisher) sendBatch(ctx context.Context, next core.Sender, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	out := slices.Clone(reqs)
	creates := make([]trace.Span, len(out))
	var links []trace.Link
	sc := getScratch()
	defer sc.put()
	queue := out[0].Queue
	for i := range out {
		r := &out[i]
		if r.Queue != queue {
			queue = ""
		}
		spec := p.create.get(ctx, r.Queue)
		cctx, span := p.tracer.Start(ctx, spec.name, spec.opts...)
		if span.IsRecording() {
			sc.attrs = p.messageAttrs(sc.attrs[:0], r)
			sc.attrs = append(sc.attrs, p.attrsAfter...)
			span.SetAttributes(sc.attrs...)
		}
		if csc := span.SpanContext(); csc.IsValid() {
			links = append(links, trace.Link{SpanContext: csc, Attributes: createLinkAttrs})
		}
		creates[i] = span
		p.inject(cctx, r)
	}
	spec := p.batch.get(ctx, queue)
	sopts := spec.opts
	if len(links) > 0 {
		sopts = append(sopts[:len(sopts):len(sopts)], trace.WithLinks(links...))
	}
	sctx, send := p.tracer.Start(ctx, spec.name, sopts...)
	if send.IsRecording() {
		sc.attrs = append(sc.attrs[:0], semconv.MessagingBatchMessageCount(len(out)))
		sc.attrs = serverAttrs(ctx, sc.attrs)
		sc.attrs = append(sc.attrs, p.attrsAfter...)
		send.SetAttributes(sc.attrs...)
	}
	res, err := next.Send(sctx, out)
	for i, span := range creates {
		sc.attrs = p.endMessage(span, res, i, err, sc.attrs[:0])
	}
	if send.IsRecording() && err != nil {
		failed(send, err)
	}
	send.End()
	return res, err
}

// createLinkAttrs are the attributes of a send span's link to a create
// span.
var createLinkAttrs = []attribute.KeyValue{semconv.MessagingOperationTypeCreate}

// messageAttrs appends the attributes of r's message to attrs.
func (p *publisher) messageAttrs(attrs []attribute.KeyValue, r *core.EnqueueRequest) []attribute.KeyValue {
	return append(attrs,
		semconv.MessagingMessageID(r.ID),
		semconv.MessagingMessageBodySize(len(r.Payload)),
	)
}

// serverAttrs appends server.address and server.port from ctx to attrs,
// if the backend named them.
func serverAttrs(ctx context.Context, attrs []attribute.KeyValue) []attribute.KeyValue {
	host, port, ok := core.ServerFromContext(ctx)
	if !ok {
		return attrs
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// inject writes the trace context of ctx into a copy of r's headers.
func (p *publisher) inject(ctx context.Context, r *core.EnqueueRequest) {
	fields := p.propFields()
	h := make(map[string]string, len(r.Headers)+2)
	for k, v := range r.Headers {
		h[k] = v
	}
	// A message republished with the headers of another keeps no stale
	// tracestate or baggage next to the new traceparent.
	for _, f := range fields {
		delete(h, f)
	}
	p.prop.Inject(ctx, HeaderCarrier(h))
	r.Headers = h
}

// endMessage records the result of message i of a call on its span, in
// one SetAttributes call with attrs, and ends it. It answers the slice it
// set, attrs and the result's, for the caller to reuse.
func (p *publisher) endMessage(span trace.Span, res []core.EnqueueResult, i int, err error, attrs []attribute.KeyValue) []attribute.KeyValue {
	if !span.IsRecording() {
		span.End()
		return attrs
	}
	var failure error
	switch {
	case err != nil:
		attrs = append(attrs, EnqueueResultKey.String("failed"))
		failure = err
	case i < len(res):
		r := res[i]
		attrs = append(attrs, EnqueueResultKey.String(r.Class()))
		if r.Err != nil && !core.IsRefusal(r.Err) {
			failure = r.Err
		}
	}
	span.SetAttributes(attrs...)
	if failure != nil {
		failed(span, failure)
	}
	span.End()
	return attrs
}

// failed records err on an enqueue's span: its exception event, status
// Error and error.type.
func failed(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorTypeKey.String(ErrorType(err)))
}
