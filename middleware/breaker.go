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
var ErrBreakerOpen = classed("redghost: circuit breaker rejected the message", "circuit_open")

// Breaker defaults (gobreaker's).
const (
	DefaultBreakerName        = "redghost"
	DefaultBreakerOpenTimeout = 60 * time.Second
)

// BreakerState is a circuit breaker's state. Its values (0 closed, 1
// half-open, 2 open) are those the metrics package's breaker-state gauge
// reports.
type BreakerState int

// The states of a [CircuitBreaker].
const (
	// BreakerClosed: handlings go through and are counted.
	BreakerClosed BreakerState = iota
	// BreakerHalfOpen: a few probes go through; their outcomes decide.
	BreakerHalfOpen
	// BreakerOpen: every handling is rejected with a retry.
	BreakerOpen
)

// String is "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return fmt.Sprintf("BreakerState(%d)", int(s))
}

func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// BreakerCounts are what a closed breaker counted since it last cleared its
// counts (on a state change, or every [WithBreakerInterval]), as handed to
// [WithBreakerReadyToTrip]. Handlings that are not counted (the worker's
// shutdown, breaker rejections) are in Requests and TotalExclusions only.
type BreakerCounts struct {
	Requests             uint32
	TotalSuccesses       uint32
	TotalFailures        uint32
	TotalExclusions      uint32
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// BreakerOption configures [CircuitBreaker].
type BreakerOption func(*breakerConfig)

type breakerConfig struct {
	st        gobreaker.Settings
	backoff   time.Duration
	isFailure func(ctx context.Context, res core.Result) bool
	onChange  []func(name string, from, to BreakerState)
	errs      []error
}

// invalid records a configuration error, returned by CircuitBreaker.
func (c *breakerConfig) invalid(option, format string, args ...any) {
	c.errs = append(c.errs, invalidOption(option, format, args...))
}

// WithBreakerName names the breaker (default [DefaultBreakerName]); the
// name is passed to state-change callbacks, e.g. as a metrics label. It
// must not be empty.
func WithBreakerName(name string) BreakerOption {
	return func(c *breakerConfig) {
		if name == "" {
			c.invalid("WithBreakerName", "the name is empty")
		}
		c.st.Name = name
	}
}

// WithBreakerMaxRequests sets how many probe handlings a half-open breaker
// lets through, and how many successes in a row close it again (default
// 1; 0 means 1).
func WithBreakerMaxRequests(n uint32) BreakerOption {
	return func(c *breakerConfig) { c.st.MaxRequests = n }
}

// WithBreakerInterval sets how often a closed breaker clears its counts
// (default 0: never, only on state changes). It must not be negative.
func WithBreakerInterval(d time.Duration) BreakerOption {
	return func(c *breakerConfig) {
		if d < 0 {
			c.invalid("WithBreakerInterval", "the interval is negative: %v", d)
		}
		c.st.Interval = d
	}
}

// WithBreakerOpenTimeout sets how long the breaker stays open before it lets
// probes through half-open (default [DefaultBreakerOpenTimeout]; 0 means the
// default). It must not be negative.
func WithBreakerOpenTimeout(d time.Duration) BreakerOption {
	return func(c *breakerConfig) {
		if d < 0 {
			c.invalid("WithBreakerOpenTimeout", "the open timeout is negative: %v", d)
		}
		c.st.Timeout = d
	}
}

// WithBreakerReadyToTrip decides, after each failure in the closed state,
// whether the breaker opens (default: more than 5 consecutive failures).
func WithBreakerReadyToTrip(fn func(counts BreakerCounts) bool) BreakerOption {
	return func(c *breakerConfig) {
		if fn == nil {
			c.invalid("WithBreakerReadyToTrip", "the function is nil")
			return
		}
		c.st.ReadyToTrip = func(n gobreaker.Counts) bool { return fn(BreakerCounts(n)) }
	}
}

// WithBreakerOnStateChange adds a callback for the breaker's state changes;
// the options add up, so metrics and logs can both hook in (for metrics,
// pass the metrics package's Metrics.BreakerStateChanged). A callback runs
// while the breaker holds its lock: it must be quick and must not handle
// messages through the same breaker.
func WithBreakerOnStateChange(fn func(name string, from, to BreakerState)) BreakerOption {
	return func(c *breakerConfig) {
		if fn == nil {
			c.invalid("WithBreakerOnStateChange", "the function is nil")
			return
		}
		c.onChange = append(c.onChange, fn)
	}
}

// WithBreakerIsFailure sets which outcomes count as failures of the
// protected dependency (default [DefaultIsFailure]). ctx is the handler's
// context. Outcomes answered after the worker's shutdown cancelled ctx, and
// rejections by another breaker (errors matching [ErrBreakerOpen]), are
// never counted, whatever fn says.
func WithBreakerIsFailure(fn func(ctx context.Context, res core.Result) bool) BreakerOption {
	return func(c *breakerConfig) {
		if fn == nil {
			c.invalid("WithBreakerIsFailure", "the function is nil")
			return
		}
		c.isFailure = fn
	}
}

// WithBreakerBackoff sets the backoff of the retry answered while the
// breaker rejects messages. It is raised to the open timeout if shorter
// (the default is the open timeout): a message is not offered again before
// the breaker may have let probes through. It must not be negative.
func WithBreakerBackoff(d time.Duration) BreakerOption {
	return func(c *breakerConfig) {
		if d < 0 {
			c.invalid("WithBreakerBackoff", "the backoff is negative: %v", d)
		}
		c.backoff = d
	}
}

// DefaultIsFailure counts every outcome that carries an error as a failure:
// an error outcome, and a retry with an error (a handler that answers
// core.RetryErr when its SMTP server is down has not reached it). Successes
// and retries without an error (not yet, try later) count as successes.
// Rejections by a breaker (errors matching [ErrBreakerOpen]) are not
// failures.
//
// To keep poison messages from opening the breaker, exclude their errors,
// e.g. a [*core.DecodeError] or a [*core.PanicError], in your own predicate.
func DefaultIsFailure(_ context.Context, res core.Result) bool {
	switch res.Outcome {
	case core.OutcomeSuccess:
		return false
	case core.OutcomeRetry:
		return res.Err != nil && !errors.Is(res.Err, ErrBreakerOpen)
	default:
		return !errors.Is(res.Err, ErrBreakerOpen)
	}
}

// CircuitBreaker protects a failing dependency: after enough failures
// (see [WithBreakerReadyToTrip] and [WithBreakerIsFailure]) it opens and
// answers every message with a retry without calling the handler, so that
// the dependency is left alone and no message is lost. After the open
// timeout it lets [WithBreakerMaxRequests] probes through (half-open); their
// successes close it, a failure opens it again. It is built on
// github.com/sony/gobreaker/v2, whose clock is the real time.
//
// The retry it answers while rejecting carries [ErrBreakerOpen] and a
// backoff no shorter than the open timeout. Such a handling still counts
// in the backend's attempt counter ([core.Message.Attempt]); [Retry], when
// it is outside the breaker, does not count it toward its limit, so an
// open breaker does not push messages into the dead-letter list.
//
// Two kinds of outcome are never counted either way: one answered when ctx
// has ended for a reason other than an [ErrTimeout] deadline (the worker's
// shutdown), and a rejection by another breaker inside this one.
//
// One CircuitBreaker value is one breaker: every handler it wraps shares
// its state. Build it once per dependency. A bad option (a negative
// duration, a nil function, an empty name) is an error matching
// [core.ErrInvalid] whose Field names the option.
func CircuitBreaker(opts ...BreakerOption) (core.Middleware, error) {
	cfg := breakerConfig{isFailure: DefaultIsFailure}
	cfg.st.Name = DefaultBreakerName
	for _, o := range opts {
		if o == nil {
			cfg.invalid("CircuitBreaker", "an option is nil")
			continue
		}
		o(&cfg)
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	if cfg.st.Timeout == 0 {
		cfg.st.Timeout = DefaultBreakerOpenTimeout
	}
	if cfg.backoff < cfg.st.Timeout {
		cfg.backoff = cfg.st.Timeout
	}
	if fns := cfg.onChange; len(fns) > 0 {
		cfg.st.OnStateChange = func(name string, from, to gobreaker.State) {
			f, t := breakerState(from), breakerState(to)
			for _, fn := range fns {
				fn(name, f, t)
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
				case shuttingDown(ctx), errors.Is(res.Err, ErrBreakerOpen):
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
	}, nil
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
