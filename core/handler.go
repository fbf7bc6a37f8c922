package core

import "context"

// Handler handles one message and answers what to do with it.
//
// The context is cancelled when the worker stops past its deadline; a
// handler that honours it should answer a retry.
type Handler interface {
	Handle(ctx context.Context, m *Message) Result
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc func(ctx context.Context, m *Message) Result

// Handle calls f(ctx, m).
func (f HandlerFunc) Handle(ctx context.Context, m *Message) Result { return f(ctx, m) }

// Middleware wraps a Handler, as net/http middleware wraps an http.Handler.
type Middleware func(Handler) Handler
