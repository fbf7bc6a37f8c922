package middleware

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redghost/redghost/core"
)

// ErrRetriesExhausted is matched by the error of the error outcome [Retry]
// answers when a message asks for a retry on its last allowed attempt. The
// error is an [*ExhaustedError] that also wraps the last retry's error.
var ErrRetriesExhausted = classed("redghost: retries exhausted", "retries_exhausted")

// ExhaustedError is the error of a message whose retries are exhausted.
type ExhaustedError struct {
	Attempts int // attempts counted (breaker rejections excluded)
	// Deliveries is the backend's count of handlings ([core.Message.Attempt]),
	// rejections included; the text names it when it differs from Attempts.
	Deliveries int
	Last       error // the error of the last retry, or nil
}

func (e *ExhaustedError) Error() string {
	s := fmt.Sprintf("%v after %d attempts", ErrRetriesExhausted, e.Attempts)
	if e.Deliveries > e.Attempts {
		s += fmt.Sprintf(" (%d deliveries, %d rejected by the circuit breaker)", e.Deliveries, e.Deliveries-e.Attempts)
	}
	if e.Last == nil {
		return s
	}
	return s + ": " + e.Last.Error()
}

// Is makes errors.Is(err, ErrRetriesExhausted) true.
func (e *ExhaustedError) Is(target error) bool { return target == ErrRetriesExhausted }

// Unwrap returns the last retry's error.
func (e *ExhaustedError) Unwrap() error { return e.Last }

// Retry defaults.
const (
	DefaultMaxAttempts      = 10
	DefaultRetryBase        = time.Second
	DefaultRetryMax         = 10 * time.Minute
	DefaultRejectionsMemory = 10_000
)

// RetryOption configures [Retry].
type RetryOption func(*retryConfig)

type retryConfig struct {
	maxAttempts int
	base, max   time.Duration
	rnd         func(n int64) int64
	memory      int
}

// WithRetryMaxAttempts sets how many times a message may be handled
// (default [DefaultMaxAttempts]); a retry answered on the last attempt
// becomes an error outcome. A message enqueued with a bound of its own
// ([core.WithMaxAttempts], seen as [core.Message.MaxAttempts]) has that
// bound instead, lower or higher.
func WithRetryMaxAttempts(n int) RetryOption { return func(c *retryConfig) { c.maxAttempts = n } }

// WithRetryBackoff sets the exponential backoff: after attempt n the backoff is
// drawn uniformly from [0, min(max, base·2^(n-1))] (full jitter). Defaults
// [DefaultRetryBase] and [DefaultRetryMax].
func WithRetryBackoff(base, max time.Duration) RetryOption {
	return func(c *retryConfig) { c.base, c.max = base, max }
}

// WithRetryJitter sets the source of jitter: fn(n) answers a uniform number
// in [0, n). It must be safe for concurrent use. The default is
// math/rand/v2.Int64N; tests pass a fixed function.
func WithRetryJitter(fn func(n int64) int64) RetryOption { return func(c *retryConfig) { c.rnd = fn } }

// WithRetryRejectionsMemory bounds how many messages' breaker rejections Retry
// remembers (default [DefaultRejectionsMemory]); past it, the least
// recently seen are forgotten and their rejections count as attempts again.
func WithRetryRejectionsMemory(n int) RetryOption { return func(c *retryConfig) { c.memory = n } }

// Retry bounds the retries of a message and spaces them out.
//
// A retry outcome without a backoff of its own gets an exponential backoff
// with full jitter (see [WithRetryBackoff]); a positive backoff chosen by the
// handler or by inner middleware is kept. A retry answered on the last
// allowed attempt (see [WithRetryMaxAttempts]) becomes an error outcome with an
// [*ExhaustedError] (errors.Is [ErrRetriesExhausted], wrapping the retry's
// error), so the backend keeps it in the dead-letter list. Successes and
// error outcomes pass through: an error outcome is final and dead-lettered
// by the backend. A retry answered while the worker shuts down (ctx ended,
// not by a [Timeout] deadline) never becomes an error.
//
// # Attempts and the circuit breaker
//
// The backend counts every handling in [core.Message.Attempt], including
// those a [CircuitBreaker] rejected without calling the handler. Retry
// counts real attempts only: it recognises the breaker's rejections (their
// error matches [ErrBreakerOpen]) as they pass through it, remembers per
// message how many there were, and counts Attempt minus those. So Retry
// must be outside the breaker in the chain. The inner handlers see that
// count in Attempt (on a copy of the message); the middleware outside it
// (tracing, [Logging]) read it from an [AttemptReport], and an
// [*ExhaustedError] names both counts when they differ.
//
// The memory is in-process and bounded (see [WithRetryRejectionsMemory]); a
// message's entry is dropped when it is done. Its limits: rejections made
// by another worker process, or before a restart, or forgotten past the
// bound, count as attempts. In those cases a message can run out of
// attempts early, never late; keep the breaker's backoff (at least its
// open timeout) long compared to an outage divided by the attempts, or
// raise the attempts, if many processes share one breaker's outage.
//
// Attempts below 1, a backoff that is not 0 < base <= max, a nil jitter
// source or a memory below 1 is an [*core.InvalidError] whose Field names
// the option.
func Retry(opts ...RetryOption) (core.Middleware, error) {
	cfg := retryConfig{
		maxAttempts: DefaultMaxAttempts,
		base:        DefaultRetryBase,
		max:         DefaultRetryMax,
		rnd:         rand.Int64N,
		memory:      DefaultRejectionsMemory,
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.maxAttempts < 1:
		return nil, invalidOption("WithRetryMaxAttempts", "must be at least 1, got %d", cfg.maxAttempts)
	case cfg.base <= 0 || cfg.max < cfg.base:
		return nil, invalidOption("WithRetryBackoff", "needs 0 < base <= max, got %s and %s", cfg.base, cfg.max)
	case cfg.rnd == nil:
		return nil, invalidOption("WithRetryJitter", "nil function")
	case cfg.memory < 1:
		return nil, invalidOption("WithRetryRejectionsMemory", "must be at least 1, got %d", cfg.memory)
	}
	r := &retrier{cfg: cfg, rejections: newRejections(cfg.memory)}
	return func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			return r.handle(ctx, next, m)
		})
	}, nil
}

type retrier struct {
	cfg        retryConfig
	rejections *rejections
}

func (r *retrier) handle(ctx context.Context, next core.Handler, m *core.Message) core.Result {
	rejected, known := r.rejections.get(m)
	attempt := max(m.Attempt-rejected, 1)
	in := m
	if rejected > 0 {
		in = m.Clone()
		in.Attempt = attempt
	}
	reportAttempt(ctx, attempt)
	res := next.Handle(ctx, in)
	if res.Outcome != core.OutcomeRetry {
		if known {
			r.rejections.forget(m)
		}
		return res
	}
	switch {
	case errors.Is(res.Err, ErrBreakerOpen):
		r.rejections.add(m)
		return res
	case shuttingDown(ctx):
		return res
	case attempt >= r.maxAttempts(m):
		if known {
			r.rejections.forget(m)
		}
		return core.Fail(&ExhaustedError{Attempts: attempt, Deliveries: m.Attempt, Last: res.Err})
	}
	if res.Backoff <= 0 {
		res.Backoff = r.backoff(attempt)
	}
	return res
}

// maxAttempts is the message's own bound ([core.WithMaxAttempts]) or, if
// it has none, the configured one.
func (r *retrier) maxAttempts(m *core.Message) int {
	if m.MaxAttempts > 0 {
		return m.MaxAttempts
	}
	return r.cfg.maxAttempts
}

// backoff draws the backoff after attempt n: full jitter over
// [0, min(max, base·2^(n-1))].
func (r *retrier) backoff(n int) time.Duration {
	ceil := r.cfg.max
	if n-1 < 62 {
		if d := r.cfg.base << (n - 1); d > 0 && d>>(n-1) == r.cfg.base && d < ceil {
			ceil = d
		}
	}
	return time.Duration(r.cfg.rnd(int64(ceil) + 1))
}

// rejections remembers, per message copy, how many of its handlings a
// breaker rejected. Bounded, least recently used out first.
type rejections struct {
	max  int
	size atomic.Int64 // len(m), read without the lock on the hot path

	mu    sync.Mutex
	m     map[msgKey]*list.Element
	order list.List // of *rejection, least recently used first
}

type msgKey struct{ queue, id string }

type rejection struct {
	key         msgKey
	enqueuedAt  time.Time // tells this copy from a later one with the same id
	lastAttempt int       // the backend's Attempt when last seen
	count       int
}

func newRejections(n int) *rejections {
	return &rejections{max: n, m: make(map[msgKey]*list.Element)}
}

// get answers how many rejections m's copy had before this handling, and
// whether m has an entry.
func (r *rejections) get(m *core.Message) (count int, known bool) {
	if r.size.Load() == 0 {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[msgKey{m.Queue, m.ID}]
	if !ok {
		return 0, false
	}
	rj := e.Value.(*rejection)
	if !r.sameCopy(rj, m) {
		r.remove(e)
		return 0, false
	}
	return rj.count, true
}

// add records one rejection of m.
func (r *rejections) add(m *core.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := msgKey{m.Queue, m.ID}
	e, ok := r.m[k]
	if ok && !r.sameCopy(e.Value.(*rejection), m) {
		r.remove(e)
		ok = false
	}
	if !ok {
		for r.order.Len() >= r.max {
			r.remove(r.order.Front())
		}
		e = r.order.PushBack(&rejection{key: k, enqueuedAt: m.EnqueuedAt})
		r.m[k] = e
		r.size.Store(int64(len(r.m)))
	}
	rj := e.Value.(*rejection)
	rj.count++
	rj.lastAttempt = m.Attempt
	r.order.MoveToBack(e)
}

// forget drops m's entry: it is done, or out of attempts.
func (r *rejections) forget(m *core.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.m[msgKey{m.Queue, m.ID}]; ok {
		r.remove(e)
	}
}

// sameCopy tells whether m is a later handling of the copy rj describes
// (a requeued or re-enqueued copy starts again at attempt 1).
func (r *rejections) sameCopy(rj *rejection, m *core.Message) bool {
	return rj.enqueuedAt.Equal(m.EnqueuedAt) && m.Attempt > rj.lastAttempt
}

func (r *rejections) remove(e *list.Element) {
	delete(r.m, e.Value.(*rejection).key)
	r.order.Remove(e)
	r.size.Store(int64(len(r.m)))
}
