package middleware

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/sony/gobreaker/v2"
)

// ErrBreakerOpen is matched by the error of every retry [CircuitBreaker]
// answers without calling the handler: the breaker is open, or half-open
// with all its probes taken. [Retry] recognises it and does not count such
// a handling as an attempt. The error also matches gobreaker.ErrOpenState
// or gobreaker.ErrTooManyRequests.
var ErrBreakerOpen = errors.New("redghost: circuit breaker rejected the message")

// Breaker defaults (gobreaker's).
const (
	DefaultBreakerName        = "redghost"
	DefaultBreakerOpenTimeout = 60 * time.Second
)

// BreakerOption configures [CircuitBreaker].
type BreakerOption func(*breakerConfig)

type breakerConfig struct {
	st        gobreaker.Settings
	backoff   time.Duration
	isFailure func(ctx context.Context, res core.Result) bool
	onChange  []func(name string, from, to gobreaker.State)
}

// WithBreakerName names the breaker (default [DefaultBreakerName]); the
// name is passed to state-change callbacks, e.g. as a metrics label.
func WithBreakerName(name string) BreakerOption {
	return func(c *breakerConfig) { c.st.Name = name }
}

// WithMaxRequests sets how many probe handlings a half-open breaker lets
// through, and how many successes in a row close it again (default 1).
func WithMaxRequests(n uint32) BreakerOption {
	return func(c *breakerConfig) { c.st.MaxRequests = n }
}

// WithInterval sets how often a closed breaker clears its counts (default
// 0: never, only on state changes).
func WithInterval(d time.Duration) BreakerOption {
	return func(c *breakerConfig) { c.st.Interval = d }
}

// WithOpenTimeout sets how long the breaker stays open before it lets
// probes through half-open (default [DefaultBreakerOpenTimeout]).
func WithOpenTimeout(d time.Duration) BreakerOption {
	return func(c *breakerConfig) { c.st.Timeout = d }
}

// WithReadyToTrip decides, after each failure in the closed state, whether
// the breaker opens (default: more than 5 consecutive failures).
func WithReadyToTrip(fn func(counts gobreaker.Counts) bool) BreakerOption {
	return func(c *breakerConfig) { c.st.ReadyToTrip = fn }
}

// WithOnStateChange adds a callback for the breaker's state changes; the
// options add up, so metrics and logs can both hook in. A callback runs
// while the breaker holds its lock: it must be quick and must not handle
// messages through the same breaker.
func WithOnStateChange(fn func(name string, from, to gobreaker.State)) BreakerOption {
	return func(c *breakerConfig) { c.onChange = append(c.onChange, fn) }
}

// WithIsFailure sets which outcomes count as failures of the protected
// dependency (default [DefaultIsFailure]). ctx is the handler's context.
// Outcomes answered after the worker's shutdown cancelled ctx are never
// counted, whatever fn says.
func WithIsFailure(fn func(ctx context.Context, res core.Result) bool) BreakerOption {
	return func(c *breakerConfig) { c.isFailure = fn }
}

// WithBreakerBackoff sets the backoff of the retry answered while the
// breaker rejects messages. It is raised to the open timeout if shorter
// (the default is the open timeout): a message is not offered again before
// the breaker may have let probes through.
func WithBreakerBackoff(d time.Duration) BreakerOption {
	return func(c *breakerConfig) { c.backoff = d }
}

// DefaultIsFailure counts error outcomes and timeouts (retries whose error
// matches [ErrTimeout]) as failures. Other retries and successes count as
// successes: a handler that asks for a retry reached its dependency.
//
// To keep poison messages from opening the breaker, exclude their errors,
// e.g. a [*core.DecodeError] or a [*core.PanicError], in your own predicate.
func DefaultIsFailure(_ context.Context, res core.Result) bool {
	switch res.Outcome {
	case core.OutcomeSuccess:
		return false
	case core.OutcomeRetry:
		return errors.Is(res.Err, ErrTimeout)
	default:
		return true
	}
}

// CircuitBreaker protects a failing dependency: after enough failures
// (see [WithReadyToTrip] and [WithIsFailure]) it opens and answers every
// message with a retry without calling the handler, so that the
// dependency is left alone and no message is lost. After the open timeout
// it lets [WithMaxRequests] probes through (half-open); their successes
// close it, a failure opens it again. It is built on
// github.com/sony/gobreaker/v2, whose clock is the real time.
//
// The retry it answers while rejecting carries [ErrBreakerOpen] and a
// backoff no shorter than the open timeout. Such a handling still counts
// in the backend's attempt counter ([core.Message.Attempt]); [Retry], when
// it is outside the breaker, does not count it toward its limit, so an
// open breaker does not push messages into the dead-letter list.
//
// The context cancellation of the worker's shutdown is not a failure: an
// outcome answered when ctx has ended, for a reason other than an
// [ErrTimeout] deadline, is not counted either way.
//
// One CircuitBreaker value is one breaker: every handler it wraps shares
// its state. Build it once per dependency.
func CircuitBreaker(opts ...BreakerOption) core.Middleware {
	cfg := breakerConfig{isFailure: DefaultIsFailure}
	cfg.st.Name = DefaultBreakerName
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.st.Timeout <= 0 {
		cfg.st.Timeout = DefaultBreakerOpenTimeout
	}
	if cfg.backoff < cfg.st.Timeout {
		cfg.backoff = cfg.st.Timeout
	}
	if cfg.isFailure == nil {
		cfg.isFailure = DefaultIsFailure
	}
	if fns := cfg.onChange; len(fns) > 0 {
		cfg.st.OnStateChange = func(name string, from, to gobreaker.State) {
			for _, fn := range fns {
				fn(name, from, to)
			}
		}
	}
	cfg.st.IsExcluded = func(err error) bool { return err == errExcluded }

	cb := gobreaker.NewCircuitBreaker[core.Result](cfg.st)
	rejectOpen := core.RetryErr(cfg.backoff, fmt.Errorf("%w: breaker %q: %w", ErrBreakerOpen, cfg.st.Name, gobreaker.ErrOpenState))
	rejectBusy := core.RetryErr(cfg.backoff, fmt.Errorf("%w: breaker %q: %w", ErrBreakerOpen, cfg.st.Name, gobreaker.ErrTooManyRequests))

	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			res, err := cb.Execute(func() (core.Result, error) {
				res := next.Handle(ctx, m)
				switch {
				case shuttingDown(ctx):
					return res, errExcluded
				case cfg.isFailure(ctx, res):
					return res, errFailure
				}
				return res, nil
			})
			switch err {
			case gobreaker.ErrOpenState:
				return rejectOpen
			case gobreaker.ErrTooManyRequests:
				return rejectBusy
			}
			return res
		})
	}
}

// Verdicts handed to gobreaker; never seen outside.
var (
	errFailure  = errors.New("failure")
	errExcluded = errors.New("excluded")
)

// shuttingDown tells whether ctx ended for a reason other than a
// [Timeout] deadline: the worker's shutdown.
func shuttingDown(ctx context.Context) bool {
	return ctx.Err() != nil && !errors.Is(context.Cause(ctx), ErrTimeout)
}
