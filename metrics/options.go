package metrics

import (
	"log/slog"
	"time"

	"github.com/redghost/redghost/core"
)

// Defaults.
const (
	DefaultNamespace     = "redghost"
	DefaultMaxQueues     = 100
	DefaultScrapeTimeout = 5 * time.Second
)

// Label values that stand for queue names that are not reported.
const (
	OtherQueue   = "_other"   // not in the allow-list, or past the bound
	InvalidQueue = "_invalid" // not a valid queue name
)

// DefaultHandleBuckets are the handling-duration buckets, in seconds.
var DefaultHandleBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// DefaultQueueingBuckets are the queueing-duration buckets, in seconds: up
// to an hour, since messages may wait for a delay or a backlog.
var DefaultQueueingBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Option configures [New].
type Option func(*config)

type config struct {
	namespace       string
	allow           map[string]bool
	maxQueues       int
	handleBuckets   []float64
	queueingBuckets []float64
	clock           core.Clock
	scrapeTimeout   time.Duration
	breakers        []string
	logger          *slog.Logger
}

func defaultConfig() config {
	return config{
		namespace:       DefaultNamespace,
		maxQueues:       DefaultMaxQueues,
		handleBuckets:   DefaultHandleBuckets,
		queueingBuckets: DefaultQueueingBuckets,
		clock:           core.SystemClock{},
		scrapeTimeout:   DefaultScrapeTimeout,
		logger:          slog.Default(),
	}
}

// WithNamespace sets the metric name prefix (default "redghost").
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// WithQueues restricts the queue label to these names; other queues are
// counted as "_other".
func WithQueues(names ...string) Option {
	return func(c *config) {
		if c.allow == nil {
			c.allow = map[string]bool{}
		}
		for _, n := range names {
			c.allow[n] = true
		}
	}
}

// WithMaxQueues bounds how many queue names are reported when there is no
// allow-list (default 100); names seen after that are counted as "_other".
func WithMaxQueues(n int) Option { return func(c *config) { c.maxQueues = n } }

// WithHandleBuckets sets the handling-duration histogram's buckets, in seconds.
func WithHandleBuckets(b ...float64) Option { return func(c *config) { c.handleBuckets = b } }

// WithQueueingBuckets sets the queueing-duration histogram's buckets, in seconds.
func WithQueueingBuckets(b ...float64) Option { return func(c *config) { c.queueingBuckets = b } }

// WithClock sets the clock that times handlings and ages messages (default
// the system clock).
func WithClock(clk core.Clock) Option { return func(c *config) { c.clock = clk } }

// WithScrapeTimeout bounds how long a [QueueCollector] made by
// [Metrics.QueueCollector] waits for the backend at each scrape (default 5 s).
func WithScrapeTimeout(d time.Duration) Option { return func(c *config) { c.scrapeTimeout = d } }

// WithBreakers reports these circuit breakers as closed from the start,
// before their first state change, and their transitions at zero, so that
// increase() and rate() see their first opening (an opening shorter than
// the scrape interval shows only in the transitions counter).
func WithBreakers(names ...string) Option {
	return func(c *config) { c.breakers = append(c.breakers, names...) }
}

// WithLogger sets the logger for queues a collector could not read
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
