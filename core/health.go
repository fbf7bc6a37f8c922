package core

import "context"

// HealthChecker is implemented by backends that watch the store under
// them for conditions that lose messages without any call failing: a
// Redis that evicts keys when memory is full, or one that came back empty
// after a restart. Workers call CheckHealth when they start; metrics read
// Health at scrape time. A backend without it is assumed healthy.
type HealthChecker interface {
	// CheckHealth checks the store before a worker starts on queue. It
	// answers an error when the backend is configured to refuse a store
	// that may lose messages; when it is configured to warn, it logs and
	// answers nil. A store it cannot reach is not its concern (the worker's
	// first dequeue sees that): it answers nil then.
	CheckHealth(ctx context.Context, queue string) error
	// Health answers what the backend last saw of its store, without a
	// round trip.
	Health() Health
}

// Health is a backend's view of its store (see [HealthChecker]).
type Health struct {
	// EvictionPolicy is the store's policy for a full memory as last seen
	// (Redis's maxmemory-policy), "" when not seen yet.
	EvictionPolicy string
	// Evicting is true when that policy may delete queue keys: accepted
	// messages can then vanish without an error.
	Evicting bool
	// DataLosses counts the times the backend found that the store had
	// lost a queue's data (a restart without persistence, a flush).
	DataLosses uint64
}
