package redisqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// Two conditions lose messages without any call failing:
//
//   - An evicting Redis. Under an allkeys-* maxmemory-policy a full Redis
//     deletes keys, queue keys included, instead of refusing writes.
//     (The volatile-* policies only evict keys with a TTL; queue keys have
//     none, so those policies act as noeviction for them.)
//   - A Redis that came back empty: restarted without persistence, or
//     flushed. The backlog is gone; a worker only sees its locks lost.
//
// The Backend watches for both: when a worker starts ([Backend.CheckHealth]),
// and from Enqueue, Dequeue, WaitDequeue and ExtendLocks (a worker's
// heartbeat, so a busy worker checks too) at most once per check interval
// (default 5s), with one pipelined round trip: INFO memory (readable
// without CONFIG rights) and a GET of each known queue's epoch marker.
//
// The epoch marker, "<prefix>:{<queue>}:epoch", holds a random value that
// the Backend writes (SET NX) when it first meets the queue and remembers.
// A marker that is gone, or holds another value, means the queue's data
// was lost since: the Backend logs an error, counts it in
// [core.Health].DataLosses and writes a new marker, so that one loss is
// reported once per Backend. ClearQueues leaves the marker alone, so that
// clearing a queue is not reported as a loss.

// EvictionCheck says what a [Backend] does when Redis's maxmemory-policy
// may evict queue keys (see [WithEvictionCheck]).
type EvictionCheck int

const (
	// EvictionWarn logs a warning once per policy seen (the default).
	EvictionWarn EvictionCheck = iota
	// EvictionRefuse makes Worker.Start, Enqueue, Dequeue and WaitDequeue
	// answer [ErrEvictionPolicy] while the policy evicts.
	EvictionRefuse
	// EvictionIgnore checks nothing about the policy (Health still reports
	// it).
	EvictionIgnore
)

// DefaultHealthCheckInterval is how often a busy Backend checks Redis's
// eviction policy and its queues' epoch markers.
const DefaultHealthCheckInterval = 5 * time.Second

// ErrEvictionPolicy is answered under [EvictionRefuse] when Redis's
// maxmemory-policy may evict queue keys.
var ErrEvictionPolicy = errors.New("redisqueue: Redis may evict queue keys (maxmemory-policy allkeys-*); set maxmemory-policy noeviction")

// WithEvictionCheck sets what the Backend does when Redis's
// maxmemory-policy may evict queue keys: EvictionWarn (default),
// EvictionRefuse or EvictionIgnore.
func WithEvictionCheck(c EvictionCheck) Option { return func(cfg *config) { cfg.health.eviction = c } }

// WithHealthCheckInterval sets how often Enqueue, Dequeue and WaitDequeue
// check the store (default 5s); zero checks only when a worker starts and
// when the Backend first meets a queue.
func WithHealthCheckInterval(d time.Duration) Option {
	return func(cfg *config) { cfg.health.interval = d }
}

// WithLogger sets the logger of the store checks (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.health.logger = l } }

type healthConfig struct {
	eviction EvictionCheck
	interval time.Duration
	logger   *slog.Logger
}

func defaultHealthConfig() healthConfig {
	return healthConfig{interval: DefaultHealthCheckInterval, logger: slog.Default()}
}

func (c *healthConfig) validate() error {
	switch {
	case c.eviction < EvictionWarn || c.eviction > EvictionIgnore:
		return &core.InvalidError{Field: "WithEvictionCheck", Reason: fmt.Sprintf("unknown check %d", c.eviction)}
	case c.interval < 0:
		return &core.InvalidError{Field: "WithHealthCheckInterval", Reason: fmt.Sprintf("must not be negative, got %s", c.interval)}
	case c.logger == nil:
		return &core.InvalidError{Field: "WithLogger", Reason: "nil logger"}
	}
	return nil
}

// healthState is what the Backend saw of its store.
type healthState struct {
	next     atomic.Int64 // unix ns of the next periodic check; 0: now
	evicting atomic.Bool
	seen     atomic.Bool // the policy was read once
	losses   atomic.Uint64

	mu      sync.Mutex // one check at a time; guards the fields below
	policy  string
	warned  string            // the evicting policy last warned about
	markers map[string]string // queue -> its epoch marker as last seen ("": not yet)
	met     sync.Map          // the queues in markers, read without mu
	order   []string          // the queues in markers, in the order met
	turn    int               // the next of order that a check reads besides its own
}

var _ core.HealthChecker = (*Backend)(nil)

// CheckHealth checks Redis's eviction policy and queue's epoch marker now.
// Under EvictionRefuse it answers [ErrEvictionPolicy] while the policy
// evicts; otherwise nil (an unreachable Redis included).
func (b *Backend) CheckHealth(ctx context.Context, queue string) error {
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	b.health.mu.Lock()
	b.checkLocked(ctx, []string{queue})
	b.health.mu.Unlock()
	return b.refusal()
}

// Health answers what the Backend last saw of Redis.
func (b *Backend) Health() core.Health {
	b.health.mu.Lock()
	policy := b.health.policy
	b.health.mu.Unlock()
	return core.Health{EvictionPolicy: policy, Evicting: b.health.evicting.Load(), DataLosses: b.health.losses.Load()}
}

// watch is called by Enqueue, Dequeue, WaitDequeue and ExtendLocks before they run: it
// checks the store when the interval has passed or queue is new to the
// Backend (one caller checks, the others go on), and answers the
// refusal, if any.
func (b *Backend) watch(ctx context.Context, queue string) error {
	h := &b.health
	if h.next.Load() <= time.Now().UnixNano() || !h.known(queue) {
		locked := h.mu.TryLock()
		if !locked && b.cfg.health.eviction == EvictionRefuse && !h.seen.Load() {
			// Nothing goes through before the policy was read once: wait
			// for the check under way.
			h.mu.Lock()
			locked = true
		}
		if locked {
			b.checkLocked(ctx, []string{queue})
			h.mu.Unlock()
		}
	}
	return b.refusal()
}

func (h *healthState) known(queue string) bool {
	_, ok := h.met.Load(queue)
	return ok
}

func (b *Backend) refusal() error {
	if b.cfg.health.eviction == EvictionRefuse && b.health.evicting.Load() {
		return fmt.Errorf("%w (it is %s)", ErrEvictionPolicy, b.Health().EvictionPolicy)
	}
	return nil
}

// checkLocked runs one check of the store, for the known queues and
// queues. It holds h.mu. A check that fails (Redis unreachable) changes
// nothing and is tried again by the next call.
func (b *Backend) checkLocked(ctx context.Context, queues []string) {
	h := &b.health
	if h.markers == nil {
		h.markers = make(map[string]string)
	}
	fresh := make(map[string]string) // queues without a known marker -> the marker offered
	for _, q := range queues {
		if _, ok := h.markers[q]; !ok {
			h.markers[q] = ""
			h.met.Store(q, struct{}{})
			h.order = append(h.order, q)
		}
	}
	for q, v := range h.markers {
		if v == "" {
			fresh[q] = newEpoch()
		}
	}
	pipe := b.client.Pipeline()
	info := pipe.InfoMap(ctx, "memory")
	gets := make(map[string]*redis.StringCmd, len(h.markers)+len(fresh))
	for q, v := range fresh {
		pipe.SetNX(ctx, b.epochKey(q), v, 0) // fails on a full Redis: tried again later
		gets[q] = pipe.Get(ctx, b.epochKey(q))
	}
	// The markers of the queues in use now, and one more in turn: a Redis
	// that came back empty lost them all, so one is enough to see it within
	// an interval, and a check costs a few commands however many queues the
	// backend serves (a pool over fifty idle queues included).
	read := func(q string) {
		if v := h.markers[q]; v != "" && gets[q] == nil {
			gets[q] = pipe.Get(ctx, b.epochKey(q))
		}
	}
	for _, q := range queues {
		read(q)
	}
	if len(h.order) > 0 {
		h.turn %= len(h.order)
		read(h.order[h.turn])
		h.turn++
	}
	_, _ = pipe.Exec(ctx)   // each command's error is read below
	var refused redis.Error // INFO denied by an ACL: check the markers only
	if err := info.Err(); err != nil && !errors.As(err, &refused) {
		return // Redis unreachable: the next call checks again
	}
	if iv := b.cfg.health.interval; iv > 0 {
		h.next.Store(time.Now().Add(iv).UnixNano())
	} else {
		h.next.Store(1<<63 - 1)
	}
	if refused == nil {
		b.notePolicy(info.Val()["Memory"]["maxmemory_policy"])
	}

	for q, get := range gets {
		v, err := get.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			continue
		}
		seen := h.markers[q]
		switch {
		case seen == "":
			if err == nil {
				h.markers[q] = v // else the SET NX failed (a full Redis): next time
			}
		case err == nil && v == seen:
		default:
			h.losses.Add(1)
			b.cfg.health.logger.Error("redisqueue: Redis lost the queue's data (its epoch marker is gone or was replaced): messages accepted before may be lost; run Redis with persistence (appendonly) and noeviction",
				"queue", q, "key", b.epochKey(q))
			h.markers[q] = "" // the next check writes a new one
			h.next.Store(0)
		}
	}
}

// notePolicy records Redis's maxmemory-policy and warns once per evicting
// policy seen.
func (b *Backend) notePolicy(policy string) {
	h := &b.health
	h.policy = policy
	h.seen.Store(true)
	evicting := strings.HasPrefix(policy, "allkeys-")
	h.evicting.Store(evicting)
	if !evicting {
		h.warned = ""
		return
	}
	if b.cfg.health.eviction == EvictionWarn && h.warned != policy {
		h.warned = policy
		b.cfg.health.logger.Warn("redisqueue: Redis may evict queue keys: accepted messages can vanish when memory is full; set maxmemory-policy noeviction",
			"maxmemory_policy", policy)
	}
}

func (b *Backend) epochKey(queue string) string { return b.queuePrefix(queue) + "epoch" }

func newEpoch() string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
