package core

import "context"

// Handler handles one message and answers what to do with it.
//
// The context is cancelled when the worker stops past its deadline, and
// when the worker learns that the message's lock is lost (the worker was
// paused past the lock and another worker has taken the message): then
// context.Cause(ctx) is [ErrLockLost] and the answer is discarded, as the
// backend would refuse it. A handler that honours the context should stop
// and answer a retry.
type Handler interface {
	Handle(ctx context.Context, m *Message) Result
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, m *Message) Result

// Handle calls f(ctx, m).
func (f HandlerFunc) Handle(ctx context.Context, m *Message) Result { return f(ctx, m) }

// Middleware wraps a Handler, as net/http middleware wraps an http.Handler.
type Middleware func(Handler) Handler
