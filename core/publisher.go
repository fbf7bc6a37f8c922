package core

import (
	"context"
	"errors"
	"fmt"
)

// Publisher enqueues messages to any queue of a backend by name. It is safe
// for concurrent use; build one and share it.
type Publisher struct {
	codec Codec
	send  Sender
}

// PublisherOption configures a [Publisher].
type PublisherOption func(*Publisher, *[]PublishMiddleware)

// WithCodec sets the codec [Publisher.Publish] encodes with (default [JSON]).
func WithCodec(c Codec) PublisherOption {
	return func(p *Publisher, _ *[]PublishMiddleware) { p.codec = c }
}

// WithPublishMiddleware wraps every send in mws. The first is outermost:
// it sees the request first and the results last. Options add up in order.
func WithPublishMiddleware(mws ...PublishMiddleware) PublisherOption {
	return func(_ *Publisher, all *[]PublishMiddleware) { *all = append(*all, mws...) }
}

// NewPublisher returns a publisher onto b. The middleware chain is built here, once.
func NewPublisher(b Backend, opts ...PublisherOption) *Publisher {
	p := &Publisher{codec: JSON}
	var mws []PublishMiddleware
	for _, o := range opts {
		o(p, &mws)
	}
	var s Sender = SenderFunc(b.Enqueue)
	for i := len(mws) - 1; i >= 0; i-- {
		s = mws[i](s)
	}
	p.send = withSystemSender(s, b)
	return p
}

// Enqueue enqueues payload as is. A refusal ([ErrAlreadyQueued],
// [ErrLocked], [ErrBackoff]) or invalid input comes back as the error and
// in the result's Err; the result still names the id.
func (p *Publisher) Enqueue(ctx context.Context, queue string, payload []byte, opts ...EnqueueOption) (EnqueueResult, error) {
	req := EnqueueRequest{Queue: queue, Payload: payload}
	for _, o := range opts {
		o(&req)
	}
	res, err := p.EnqueueBatch(ctx, []EnqueueRequest{req})
	if err != nil {
		return EnqueueResult{ID: req.ID, Err: err}, err
	}
	return res[0], res[0].Err
}

// Publish encodes v with the publisher's codec and enqueues it; a []byte is
// enqueued as is.
func (p *Publisher) Publish(ctx context.Context, queue string, v any, opts ...EnqueueOption) (EnqueueResult, error) {
	payload, ok := v.([]byte)
	if !ok {
		var err error
		if payload, err = p.codec.Marshal(v); err != nil {
			err = &InvalidError{Field: "payload", Reason: fmt.Sprintf("does not encode: %v", err)}
			return EnqueueResult{Err: err}, err
		}
	}
	return p.Enqueue(ctx, queue, payload, opts...)
}

// EnqueueBatch enqueues several messages, possibly to several queues, in
// as few round trips as the backend can. Requests without an id get a fresh
// one, written into reqs, before the middleware sees them. It answers one
// result per request; the error is for a failure of the whole call.
func (p *Publisher) EnqueueBatch(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	for i := range reqs {
		if reqs[i].ID == "" {
			reqs[i].ID = NewID()
		}
	}
	res, err := p.send.Send(ctx, reqs)
	if err == nil && len(res) != len(reqs) {
		err = errors.New("redghost: sender answered a wrong number of results")
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}
