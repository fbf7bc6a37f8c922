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

// PublisherOption configures a [Publisher]. No option can be wrong: a nil
// codec means the default and nil middleware are skipped, so [NewPublisher]
// has no error to return.
type PublisherOption func(*publisherConfig)

type publisherConfig struct {
	codec Codec
	mws   []PublishMiddleware
}

// WithCodec sets the codec [Publisher.Publish] encodes with (default, and
// for nil, [JSON]).
func WithCodec(c Codec) PublisherOption {
	return func(cfg *publisherConfig) { cfg.codec = c }
}

// WithPublishMiddleware wraps every send in mws. The first is outermost:
// it sees the request first and the results last. Options add up in order;
// nil entries are skipped.
func WithPublishMiddleware(mws ...PublishMiddleware) PublisherOption {
	return func(cfg *publisherConfig) {
		for _, m := range mws {
			if m != nil {
				cfg.mws = append(cfg.mws, m)
			}
		}
	}
}

// NewPublisher returns a publisher onto b. The middleware chain is built here, once.
func NewPublisher(b Backend, opts ...PublisherOption) *Publisher {
	cfg := publisherConfig{codec: JSON}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.codec == nil {
		cfg.codec = JSON
	}
	var s Sender = SenderFunc(b.Enqueue)
	for i := len(cfg.mws) - 1; i >= 0; i-- {
		s = cfg.mws[i](s)
	}
	return &Publisher{codec: cfg.codec, send: withSystemSender(withServerSender(s, b), b)}
}

// Enqueue enqueues payload as is. A refusal ([ErrAlreadyQueued],
// [ErrLocked], [ErrBackoff]) or invalid input comes back as the error and
// in the result's Err; the result still names the id.
func (p *Publisher) Enqueue(ctx context.Context, queue string, payload []byte, opts ...EnqueueOption) (EnqueueResult, error) {
	req := EnqueueRequest{Queue: queue, Payload: payload}
	for _, o := range opts {
		o(&req)
	}
	if req.idSet && req.ID == "" {
		err := &InvalidError{Queue: queue, Field: "id", Reason: "empty (leave WithID out for a fresh random id)"}
		return EnqueueResult{Err: err}, err
	}
	if req.maxSet && req.MaxAttempts <= 0 {
		err := &InvalidError{Queue: queue, Field: "max attempts", Reason: fmt.Sprintf("must be positive, got %d (leave WithMaxAttempts out for none)", req.MaxAttempts)}
		return EnqueueResult{ID: req.ID, Err: err}, err
	}
	if req.timeoutSet && req.Timeout <= 0 {
		err := &InvalidError{Queue: queue, Field: "timeout", Reason: fmt.Sprintf("must be positive, got %s (leave WithHandlingTimeout out for none)", req.Timeout)}
		return EnqueueResult{ID: req.ID, Err: err}, err
	}
	req.idSet, req.maxSet, req.timeoutSet = false, false, false
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
			err = &InvalidError{Queue: queue, Field: "payload", Reason: fmt.Sprintf("does not encode: %v", err)}
			return EnqueueResult{Err: err}, err
		}
	}
	return p.Enqueue(ctx, queue, payload, opts...)
}

// EnqueueBatch enqueues several messages, possibly to several queues, in
// as few round trips as the backend can. Requests without an id get a fresh
// one, written into reqs, before the middleware sees them; the result of
// such a request that is refused as invalid carries no id (the fresh one
// names nothing). It answers one result per request; the error is for a
// failure of the whole call.
func (p *Publisher) EnqueueBatch(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	var fresh []bool // fresh[i]: reqs[i].ID was assigned here
	for i := range reqs {
		if reqs[i].ID == "" {
			if fresh == nil {
				fresh = make([]bool, len(reqs))
			}
			fresh[i] = true
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
	for i := range fresh {
		if fresh[i] && errors.Is(res[i].Err, ErrInvalid) {
			res[i].ID = ""
		}
	}
	return res, nil
}
