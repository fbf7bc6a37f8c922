package redghosttest

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/middleware"
)

// DefaultStart is where an Env's clock starts unless [WithStart] says
// otherwise: a fixed time, so that what a test prints is the same on
// every run.
var DefaultStart = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Env is one test's queue world without Redis and without sleeps: an
// in-memory backend on a manual clock, publishers that record what they
// enqueue, and the handler middleware the test's handlers are wrapped in.
// Make one per test with [New].
type Env struct {
	tb      testing.TB
	clock   *queuetest.ManualClock
	backend *memqueue.Backend
	// chain is the WithMiddleware options' middleware, composed once.
	chain core.Middleware

	mu       sync.Mutex
	enqueued []Enqueued
	matched  []bool
}

// Option configures an [Env].
type Option func(*envConfig)

type envConfig struct {
	start time.Time
	mws   []core.Middleware
}

// WithStart sets the time the Env's clock starts at (default
// [DefaultStart]).
func WithStart(t time.Time) Option { return func(c *envConfig) { c.start = t } }

// WithMiddleware wraps every handler that [Env.Handle] and [Env.Drain]
// run in mws, the first outermost, as the application's chain wraps its
// handlers. Options add up in order; nil entries are skipped.
func WithMiddleware(mws ...core.Middleware) Option {
	return func(c *envConfig) {
		for _, m := range mws {
			if m != nil {
				c.mws = append(c.mws, m)
			}
		}
	}
}

// New returns an Env for tb. A zero start time fails tb.
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	cfg := envConfig{start: DefaultStart}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.start.IsZero() {
		tb.Fatalf("redghosttest: WithStart: the zero time")
	}
	clock := queuetest.NewManualClock(cfg.start)
	b, err := memqueue.New(memqueue.WithClock(clock))
	if err != nil {
		tb.Fatalf("redghosttest: %v", err)
	}
	return &Env{tb: tb, clock: clock, backend: b, chain: middleware.Chain(cfg.mws...)}
}

// Clock is the Env's manual clock: the backend's time, and the time
// handlers see as their messages' enqueue times. Advance it to let delays
// and backoffs pass.
func (e *Env) Clock() *queuetest.ManualClock { return e.clock }

// Backend is the Env's in-memory backend.
func (e *Env) Backend() *memqueue.Backend { return e.backend }

// Enqueued is one message a publisher of the Env enqueued, as it reached
// the backend (after the publisher's own middleware).
type Enqueued struct {
	Queue   string
	ID      string
	Payload []byte
	Headers map[string]string
	Delay   time.Duration
	// Result is the backend's answer.
	Result core.EnqueueResult
}

// Publisher returns a publisher onto the Env's backend, configured with
// opts as [core.NewPublisher] is, that records every message it enqueues
// for [RequireEnqueued] and [Env.RequireNothingElseEnqueued].
func (e *Env) Publisher(opts ...core.PublisherOption) *core.Publisher {
	return core.NewPublisher(recorder{e.backend, e}, opts...)
}

// recorder is the backend under an Env's publishers.
type recorder struct {
	*memqueue.Backend
	e *Env
}

func (r recorder) Enqueue(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	res, err := r.Backend.Enqueue(ctx, reqs)
	if err != nil {
		return res, err
	}
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	for i, q := range reqs {
		r.e.enqueued = append(r.e.enqueued, Enqueued{
			Queue: q.Queue, ID: res[i].ID, Payload: append([]byte(nil), q.Payload...),
			Headers: maps.Clone(q.Headers), Delay: q.Delay, Result: res[i],
		})
		r.e.matched = append(r.e.matched, false)
	}
	return res, nil
}

// wrap wraps h in the Env's middleware.
func (e *Env) wrap(h core.Handler) core.Handler { return e.chain(h) }

// ctx is the test's context (Background for a test that has none, such
// as the zero testing.T of an example).
func (e *Env) ctx() context.Context {
	if c := e.tb.Context(); c != nil {
		return c
	}
	return context.Background()
}
