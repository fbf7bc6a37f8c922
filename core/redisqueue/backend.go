package redisqueue

import (
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// Backend is a [core.Backend] on Redis. It is safe for concurrent use and
// holds no queue state of its own (besides its configuration, only the
// enqueues it is coalescing right now and the names of queues' keys): any
// number of Backends (in any number of processes) may share the same
// queues.
type Backend struct {
	client redis.UniversalClient
	cfg    config
	lanes  *lanes

	noShebang atomic.Bool  // the server predates script flags (oom.go)
	health    healthState  // what the store checks saw (health.go)
	reqs      *requestKeys // names enqueue calls for retries (retry.go)
	hot       sync.Map     // queue -> *scriptKeys (keys.go)
}

var _ core.Backend = (*Backend)(nil)

// New returns a Backend that uses client. The client may be a
// *redis.Client, a *redis.ClusterClient (every key of a queue shares a hash
// tag) or a failover client. An invalid option (an empty or braced prefix,
// a negative dead-letter limit or limit, a WithReplicaAck the client
// cannot honour) or a nil client is an [*core.InvalidError]
// whose Field names it; New talks to no server.
//
// The backend needs Redis 6.2 or later (LPOP with a count).
func New(client redis.UniversalClient, opts ...Option) (*Backend, error) {
	if client == nil {
		return nil, invalidOption("client", "nil")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.validateReplicaAck(client); err != nil {
		return nil, err
	}
	return &Backend{client: client, cfg: cfg, lanes: newLanes(), reqs: newRequestKeys(client)}, nil
}
