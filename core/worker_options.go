package core

import (
	"log/slog"
	"time"
)

// Worker defaults.
const (
	DefaultConcurrency  = 10
	DefaultLockDuration = 30 * time.Second
	DefaultMaxBatch     = 100
	DefaultPrefetch     = 100
	DefaultMaxWait      = time.Second
	DefaultMonitorEvery = 10 * time.Second
)

type workerConfig struct {
	concurrency  int
	maxBatch     int
	prefetch     int
	lock         time.Duration
	heartbeat    time.Duration
	maxWait      time.Duration
	errMin       time.Duration
	errMax       time.Duration
	monitor      func(MonitorInfo)
	monitorEvery time.Duration
	logger       *slog.Logger
	clock        Clock
	samples      int
	stopGrace    time.Duration
}

func defaultWorkerConfig() workerConfig {
	return workerConfig{
		concurrency:  DefaultConcurrency,
		maxBatch:     DefaultMaxBatch,
		prefetch:     DefaultPrefetch,
		lock:         DefaultLockDuration,
		maxWait:      DefaultMaxWait,
		errMin:       10 * time.Millisecond,
		errMax:       5 * time.Second,
		monitorEvery: DefaultMonitorEvery,
		logger:       slog.Default(),
		clock:        SystemClock{},
		samples:      4096,
		stopGrace:    DefaultStopGrace,
	}
}

// WorkerOption configures a [Worker].
type WorkerOption func(*workerConfig)

// WithConcurrency bounds how many handlers run at once (default 10).
func WithConcurrency(n int) WorkerOption { return func(c *workerConfig) { c.concurrency = n } }

// WithMaxBatch bounds how many messages one dequeue takes (default 100).
// Acknowledgements are batched up to the same size.
func WithMaxBatch(n int) WorkerOption { return func(c *workerConfig) { c.maxBatch = n } }

// WithPrefetch bounds how many messages the worker may hold beyond its busy
// handlers (default 100; 0 holds none). It holds them only while handlers
// are fast: at most about 20 ms of handling per handler at the average
// handling time, so a worker with slow handlers holds none and leaves
// messages to other workers. Held messages are locked and heartbeated, and
// Stop handles them before it returns.
func WithPrefetch(n int) WorkerOption { return func(c *workerConfig) { c.prefetch = n } }

// WithDefaultLockDuration sets the lock of a handling for messages that
// were enqueued without a lock of their own ([WithLockDuration]); default
// 30 s. The lock is extended by a heartbeat while the handler runs, so it
// can be short: it is how long a crashed worker's messages take to come
// back.
func WithDefaultLockDuration(d time.Duration) WorkerOption {
	return func(c *workerConfig) { c.lock = d }
}

// WithHeartbeat sets how often the locks of in-flight messages are
// extended and the worker's registration refreshed (default a third of
// the lock). A cancelled message's handler is told at the next one.
func WithHeartbeat(d time.Duration) WorkerOption { return func(c *workerConfig) { c.heartbeat = d } }

// WithMaxWait bounds how long an idle worker waits for a wake-up before it
// looks at the queue again (default 1 s). An enqueue wakes it at once.
func WithMaxWait(d time.Duration) WorkerOption { return func(c *workerConfig) { c.maxWait = d } }

// WithErrorBackoff sets the exponential back-off after consecutive backend
// errors (default 10 ms doubling up to 5 s).
func WithErrorBackoff(min, max time.Duration) WorkerOption {
	return func(c *workerConfig) { c.errMin, c.errMax = min, max }
}

// WithMonitor calls fn every interval (default 10 s) with the queue's size
// and the worker's counters. Without it the worker logs a warning when the
// queue holds more than 1000 messages, at most every 6 hours.
func WithMonitor(interval time.Duration, fn func(MonitorInfo)) WorkerOption {
	return func(c *workerConfig) { c.monitorEvery, c.monitor = interval, fn }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) WorkerOption { return func(c *workerConfig) { c.logger = l } }

// WithClock sets the clock the worker's statistics use and, if it is a
// [TickerClock], the clock its heartbeat and monitor tick on (default
// [SystemClock]). The queue's own time is the backend's. On a test clock
// that is never advanced the heartbeat never runs, so locks on a backend
// with real time run out.
func WithClock(clk Clock) WorkerOption { return func(c *workerConfig) { c.clock = clk } }

// validate checks the options once, at construction; Field names the
// option a user typed.
func (c *workerConfig) validate() error {
	if c.concurrency < 1 {
		return invalid("WithConcurrency", "must be at least 1, got %d", c.concurrency)
	}
	if c.maxBatch < 1 {
		return invalid("WithMaxBatch", "must be at least 1, got %d", c.maxBatch)
	}
	if c.prefetch < 0 {
		return invalid("WithPrefetch", "must not be negative, got %d", c.prefetch)
	}
	if c.lock <= 0 || c.lock > MaxDuration {
		return invalid("WithDefaultLockDuration", "must be positive and at most %s, got %s", MaxDuration, c.lock)
	}
	if c.heartbeat == 0 {
		c.heartbeat = c.lock / 3
	}
	if c.heartbeat <= 0 || c.heartbeat >= c.lock {
		return invalid("WithHeartbeat", "must be positive and shorter than the lock (%s), got %s", c.lock, c.heartbeat)
	}
	if c.maxWait <= 0 {
		return invalid("WithMaxWait", "must be positive, got %s", c.maxWait)
	}
	if c.errMin <= 0 || c.errMax < c.errMin {
		return invalid("WithErrorBackoff", "needs 0 < min <= max, got %s and %s", c.errMin, c.errMax)
	}
	if c.monitorEvery <= 0 {
		return invalid("WithMonitor", "interval must be positive, got %s", c.monitorEvery)
	}
	if err := c.validateStopGrace(); err != nil {
		return err
	}
	if c.logger == nil {
		return invalid("WithLogger", "nil logger")
	}
	if c.clock == nil {
		return invalid("WithClock", "nil clock")
	}
	return nil
}
