package middleware

import (
	"context"
	"log/slog"

	"github.com/redghost/redghost/core"
)

// RecoverOption configures [Recover].
type RecoverOption func(*recoverConfig)

type recoverConfig struct {
	onPanic func(ctx context.Context, m *core.Message, p *core.PanicError)
	logger  *slog.Logger
}

// WithRecoverOnPanic calls fn with every panic Recover turns into an error
// outcome, before it answers (to report it to an error tracker, say). fn
// runs on the handler's goroutine and must not panic.
func WithRecoverOnPanic(fn func(ctx context.Context, m *core.Message, p *core.PanicError)) RecoverOption {
	return func(c *recoverConfig) { c.onPanic = fn }
}

// WithRecoverLogger sets the logger Recover logs panics to (default, and
// when l is nil, slog.Default()). Give it the worker's logger.
func WithRecoverLogger(l *slog.Logger) RecoverOption {
	return func(c *recoverConfig) { c.logger = l }
}

// Recover turns a panic in the handler (or in middleware inside it) into
// an error outcome whose error is a [*core.PanicError] holding the panic
// value and the stack from the panicking function outwards; errors.As
// finds it, and errors.Is finds the value when it is an error. The message
// is dead-lettered with the error text followed by the innermost frames of
// the stack (see [core.MaxPanicStackBytes]), as the reference treats a
// handler that throws: a panic is not retried.
//
// Recover logs each panic once, at Error level, with the queue, id and
// attempt, the panic value and the stack (see [core.LogPanic] and
// [WithRecoverLogger]); the worker does not log it again.
//
// The worker has its own last-resort recover, so a panic never crashes it
// with or without this middleware, and it logs and dead-letters the panics
// it recovers in the same way. Recover exists so that the middleware
// outside it (logging, metrics, tracing) sees the panic as an ordinary
// error outcome instead of being unwound past.
func Recover(opts ...RecoverOption) core.Middleware {
	var cfg recoverConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) (res core.Result) {
			queue, id, attempt := m.Queue, m.ID, m.Attempt // next may change m
			defer func() {
				if v := recover(); v != nil {
					p := core.NewPanicError(v)
					core.LogPanic(ctx, cfg.logger, &core.Message{Queue: queue, ID: id, Attempt: attempt}, p)
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
