package peers

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// System is one queue library under test, seen through the workloads.
type System interface {
	// Name is the column name in the table.
	Name() string
	// Enqueue enqueues one message in one call.
	Enqueue(ctx context.Context, queue string, payload []byte) error
	// SupportsBatch says whether EnqueueBatch is real.
	SupportsBatch() bool
	// EnqueueBatch enqueues all payloads in one call, or answers
	// errNoBatch when the system has no batch enqueue.
	EnqueueBatch(ctx context.Context, queue string, payloads [][]byte) error
	// StartWorker starts a worker on queue running concurrency handlers
	// that each call h with a message's payload and succeed.
	StartWorker(ctx context.Context, queue string, concurrency int, h func(payload []byte)) (Worker, error)
	// StartWorkerMany starts one worker on all of queues, with equal
	// priorities, running concurrency handlers in all.
	StartWorkerMany(ctx context.Context, queues []string, concurrency int, h func(payload []byte)) (Worker, error)
	// Counter counts the system's round trips and Redis commands.
	Counter() *Counter
	// Close releases the system's clients.
	Close() error
}

// Worker is a started worker.
type Worker interface {
	Stop(ctx context.Context) error
}

var errNoBatch = errors.New("no batch enqueue")

// Counter is a go-redis hook that counts round trips (one per command sent
// alone, one per pipeline) and the commands they carried, and, per kind of
// command, the calls and the time the client waited for them. A script
// call's kind names the suffix of its last key (for ours, "seq" is the
// dequeue, "deadidx" the ack, "wake" the enqueue and "locks" the lock
// extension), so that the scripts can be told apart.
type Counter struct {
	trips, cmds atomic.Int64

	mu    sync.Mutex
	kinds map[string]KindStat
}

// KindStat counts one kind of command.
type KindStat struct {
	Calls int64
	Wait  time.Duration // summed client-side latency
}

func kind(cmd redis.Cmder) string {
	name := cmd.Name()
	if name != "evalsha" && name != "eval" {
		return name
	}
	args := cmd.Args()
	if len(args) < 3 {
		return name
	}
	n, _ := args[2].(int)
	if n < 1 || len(args) < 3+n {
		return name
	}
	key, _ := args[2+n].(string)
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		key = key[i+1:]
	}
	return name + ":" + key
}

func (c *Counter) record(k string, d time.Duration) {
	c.mu.Lock()
	if c.kinds == nil {
		c.kinds = map[string]KindStat{}
	}
	s := c.kinds[k]
	s.Calls++
	s.Wait += d
	c.kinds[k] = s
	c.mu.Unlock()
}

// Kinds answers a copy of the per-kind counts so far.
func (c *Counter) Kinds() map[string]KindStat {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]KindStat, len(c.kinds))
	for k, v := range c.kinds {
		m[k] = v
	}
	return m
}

var _ redis.Hook = (*Counter)(nil)

// DialHook passes dials through.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one round trip and one command.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(1)
		t := time.Now()
		err := next(ctx, cmd)
		c.record(kind(cmd), time.Since(t))
		return err
	}
}

// ProcessPipelineHook counts one round trip carrying len(cmds) commands.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(int64(len(cmds)))
		t := time.Now()
		err := next(ctx, cmds)
		c.record("pipeline", time.Since(t))
		return err
	}
}

// Load answers the round trips and commands so far.
func (c *Counter) Load() (trips, cmds int64) { return c.trips.Load(), c.cmds.Load() }

// newClient is the go-redis client every system gets: the same options for
// all, so that neither gets a bigger pool.
func newClient(addr string) (*redis.Client, *Counter) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	n := &Counter{}
	c.AddHook(n)
	return c, n
}

// PayloadSize is the size of every benchmark message's payload.
const PayloadSize = 100

// payload returns a 100-byte payload that carries seq and a send time
// (nanoseconds since the run's base time) in its first 16 bytes.
func payload(seq uint64, sent time.Duration) []byte {
	p := make([]byte, PayloadSize)
	binary.LittleEndian.PutUint64(p, seq)
	binary.LittleEndian.PutUint64(p[8:], uint64(sent))
	for i := 16; i < len(p); i++ {
		p[i] = 'x'
	}
	return p
}

func parsePayload(p []byte) (seq uint64, sent time.Duration, ok bool) {
	if len(p) < 16 {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(p), time.Duration(binary.LittleEndian.Uint64(p[8:])), true
}
