package core

import "context"

// Sender is the enqueue side's handler: it sends a batch of messages and
// answers one result per message, in order. Publisher middleware wraps a
// Sender; the innermost Sender is the backend. The error is for a failure
// of the whole call.
//
// Middleware may change a request's Headers; it must not keep the slice.
type Sender interface {
	Send(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error)
}

// SenderFunc adapts a function to [Sender].
type SenderFunc func(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error)

// Send calls f(ctx, reqs).
func (f SenderFunc) Send(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
	return f(ctx, reqs)
}

// PublishMiddleware wraps a Sender, as [Middleware] wraps a Handler.
type PublishMiddleware func(Sender) Sender
