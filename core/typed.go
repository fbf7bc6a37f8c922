package core

import (
	"context"
	"fmt"
)

type messageKey struct{}

// MessageFrom returns the message a [Typed] handler is handling, or nil.
func MessageFrom(ctx context.Context) *Message {
	m, _ := ctx.Value(messageKey{}).(*Message)
	return m
}

// Typed adapts a function that takes a decoded payload to [Handler]. The
// payload is decoded with [JSON]; see [TypedCodec] for another codec. A
// payload that does not decode is an error outcome whose error is a
// [*DecodeError] naming the queue and the message id. The message itself is
// available through [MessageFrom].
func Typed[T any](fn func(ctx context.Context, v T) Result) Handler {
	return TypedCodec(JSON, fn)
}

// TypedCodec is [Typed] with the given codec.
func TypedCodec[T any](c Codec, fn func(ctx context.Context, v T) Result) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message) Result {
		var v T
		if err := c.Unmarshal(m.Payload, &v); err != nil {
			return Fail(&DecodeError{Queue: m.Queue, ID: m.ID, Type: fmt.Sprintf("%T", v), Err: err})
		}
		return fn(context.WithValue(ctx, messageKey{}, m), v)
	})
}
