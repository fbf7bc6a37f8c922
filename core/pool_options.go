package core

// PoolOption configures a [Pool]. Every [WorkerOption] is one (the
// concurrency budget, batch size, lock, heartbeat, max wait, logger,
// clock, stop grace... apply to the pool as a whole), and so is
// [WithStrictPriority].
type PoolOption interface {
	applyPool(*poolConfig)
}

type poolConfig struct {
	workerConfig
	strict bool
}

// applyPool makes every WorkerOption a PoolOption.
func (o WorkerOption) applyPool(c *poolConfig) {
	if o != nil {
		o(&c.workerConfig)
	}
}

type poolOptionFunc func(*poolConfig)

func (f poolOptionFunc) applyPool(c *poolConfig) { f(c) }

// WithStrictPriority makes a [Pool] serve its queues in strict priority
// order: a queue is served only while every queue of a higher priority
// (see [WithPriority]) is empty or at its own concurrency cap. Without it
// the pool shares its handlers among the queues that have work in
// proportion to their priorities, so that none starves.
func WithStrictPriority() PoolOption { return poolOptionFunc(func(c *poolConfig) { c.strict = true }) }

// MaxPriority bounds [WithPriority].
const MaxPriority = 1000

// QueueOption configures one queue of a [Pool] (see [Pool.Handle]).
type QueueOption func(*queueConfig)

type queueConfig struct {
	priority    int
	concurrency int // 0: the pool's budget
	capped      bool
}

// WithPriority sets a queue's priority, from 1 (the default) to
// [MaxPriority]. In the default, weighted, mode it is the queue's weight:
// while several queues have work, each gets handler slots in proportion
// to its priority, so a queue of priority 3 is handled about three times
// as often as one of priority 1. With [WithStrictPriority] it is a rank:
// higher priorities are served first, equal ones share by weight 1 each.
func WithPriority(n int) QueueOption { return func(c *queueConfig) { c.priority = n } }

// WithQueueConcurrency caps how many of the pool's handlers one queue may
// use at once (default: all of them). The other handlers stay free for
// the other queues.
func WithQueueConcurrency(n int) QueueOption {
	return func(c *queueConfig) { c.concurrency, c.capped = n, true }
}

// validate checks a queue's options; Field names the option.
func (c *queueConfig) validate() error {
	if c.priority < 1 || c.priority > MaxPriority {
		return invalid("WithPriority", "must be from 1 to %d, got %d", MaxPriority, c.priority)
	}
	if c.capped && c.concurrency < 1 {
		return invalid("WithQueueConcurrency", "must be at least 1, got %d", c.concurrency)
	}
	return nil
}
