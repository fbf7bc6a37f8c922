package middleware

import (
	"context"
	"errors"
	"log/slog"

	"github.com/redghost/redghost/core"
)

// LoggingOption configures [Logging].
type LoggingOption func(*loggingConfig)

type loggingConfig struct {
	clock                   core.Clock
	payload                 bool
	payloadMax              int
	stack                   bool
	success, retry, failure slog.Level
}

// WithLogPayload adds the payload to every line (attribute "payload"), cut
// to maxBytes if maxBytes is positive. Off by default: payloads may hold
// personal data and secrets.
func WithLogPayload(maxBytes int) LoggingOption {
	return func(c *loggingConfig) { c.payload, c.payloadMax = true, maxBytes }
}

// WithLogStack sets whether the line of a recovered panic carries its stack
// (attribute "stack"; default true).
func WithLogStack(on bool) LoggingOption { return func(c *loggingConfig) { c.stack = on } }

// WithLogLevels sets the levels of the lines for success, retry and error
// outcomes (default Debug, Warn and Error).
func WithLogLevels(success, retry, failure slog.Level) LoggingOption {
	return func(c *loggingConfig) { c.success, c.retry, c.failure = success, retry, failure }
}

// WithLogClock sets the clock that times the handling (default the wall
// clock); tests pass a fixed one.
func WithLogClock(clk core.Clock) LoggingOption { return func(c *loggingConfig) { c.clock = clk } }

// Log messages, one per outcome.
const (
	LogMsgSuccess = "redghost: message handled"
	LogMsgRetry   = "redghost: message will be retried"
	LogMsgError   = "redghost: message failed"
)

// Logging writes one structured line per handling to l: at Warn for a
// retry, at Error for an error outcome, and at Debug for a success (see
// [WithLogLevels]). Attributes: queue, id, attempt (the backend's delivery
// count, [core.Message.Attempt]), handler_attempt (the attempt a [Retry]
// inside counted, breaker rejections excluded; only when it differs from
// attempt), outcome, backoff (if
// any), error (if any), duration (time spent inside Logging), and, for a
// recovered panic, its stack. The payload is never logged unless
// [WithLogPayload] says so. Levels that l does not enable cost next to
// nothing. A nil l is slog.Default().
func Logging(l *slog.Logger, opts ...LoggingOption) core.Middleware {
	if l == nil {
		l = slog.Default()
	}
	cfg := loggingConfig{
		clock:   core.SystemClock{},
		stack:   true,
		success: slog.LevelDebug,
		retry:   slog.LevelWarn,
		failure: slog.LevelError,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.clock == nil {
		cfg.clock = core.SystemClock{}
	}
	highest := max(cfg.success, cfg.retry, cfg.failure)
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			start := cfg.clock.Now()
			var report *AttemptReport
			if l.Enabled(ctx, highest) {
				// A line may be written: learn Retry's count for it
				// (one small allocation, shared with tracing's).
				ctx, report = WithAttemptReport(ctx)
			}
			res := next.Handle(ctx, m)
			level, msg := cfg.failure, LogMsgError
			switch res.Outcome {
			case core.OutcomeSuccess:
				level, msg = cfg.success, LogMsgSuccess
			case core.OutcomeRetry:
				level, msg = cfg.retry, LogMsgRetry
			}
			if !l.Enabled(ctx, level) {
				return res
			}
			attrs := make([]slog.Attr, 0, 10)
			attrs = append(attrs,
				slog.String("queue", m.Queue),
				slog.String("id", m.ID),
				slog.Int("attempt", m.Attempt),
			)
			if n := report.HandlerAttempt(); n > 0 && n != m.Attempt {
				attrs = append(attrs, slog.Int("handler_attempt", n))
			}
			attrs = append(attrs, slog.String("outcome", res.Outcome.String()))
			if res.Backoff > 0 && res.Outcome != core.OutcomeError {
				attrs = append(attrs, slog.Duration("backoff", res.Backoff))
			}
			if res.Err != nil {
				attrs = append(attrs, slog.String("error", res.Err.Error()))
			}
			attrs = append(attrs, slog.Duration("duration", cfg.clock.Now().Sub(start)))
			if cfg.payload {
				p := m.Payload
				if cfg.payloadMax > 0 && len(p) > cfg.payloadMax {
					p = p[:cfg.payloadMax]
				}
				attrs = append(attrs, slog.String("payload", string(p)))
			}
			var pe *core.PanicError
			if cfg.stack && errors.As(res.Err, &pe) {
				attrs = append(attrs, slog.String("stack", string(pe.Stack)))
			}
			l.LogAttrs(ctx, level, msg, attrs...)
			return res
		})
	}
}
