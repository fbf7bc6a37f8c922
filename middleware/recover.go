package middleware

import (
	"context"
	"runtime/debug"

	"github.com/redghost/redghost/core"
)

// RecoverOption configures [Recover].
type RecoverOption func(*recoverConfig)

type recoverConfig struct {
	onPanic func(ctx context.Context, m *core.Message, p *core.PanicError)
}

// WithOnPanic calls fn with every panic Recover turns into an error
// outcome, before it answers (to report it to an error tracker, say). fn
// runs on the handler's goroutine and must not panic.
func WithOnPanic(fn func(ctx context.Context, m *core.Message, p *core.PanicError)) RecoverOption {
	return func(c *recoverConfig) { c.onPanic = fn }
}

// Recover turns a panic in the handler (or in middleware inside it) into
// an error outcome whose error is a [*core.PanicError] holding the panic
// value and the stack; errors.As finds it, and errors.Is finds the value
// when it is an error. The message is dead-lettered with the error text,
// as the reference treats a handler that throws: a panic is not retried.
//
// The worker has its own last-resort recover, so a panic never crashes it
// with or without this middleware. Recover exists so that the middleware
// outside it (logging, metrics, tracing) sees the panic as an ordinary
// error outcome instead of being unwound past.
func Recover(opts ...RecoverOption) core.Middleware {
	var cfg recoverConfig
	for _, o := range opts {
		o(&cfg)
	}
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) (res core.Result) {
			defer func() {
				if v := recover(); v != nil {
					p := panicError(v)
					if cfg.onPanic != nil {
						cfg.onPanic(ctx, m, p)
					}
					res = core.Fail(p)
				}
			}()
			return next.Handle(ctx, m)
		})
	}
}

// panicError wraps a recovered value with the current stack, unless it is
// a *core.PanicError already (re-panicked from another goroutine).
func panicError(v any) *core.PanicError {
	if p, ok := v.(*core.PanicError); ok {
		return p
	}
	return &core.PanicError{Value: v, Stack: debug.Stack()}
}
