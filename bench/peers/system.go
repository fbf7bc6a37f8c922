package peers

import (
	"context"
	"encoding/binary"
	"errors"
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
// alone, one per pipeline) and the commands they carried.
type Counter struct {
	trips, cmds atomic.Int64
}

var _ redis.Hook = (*Counter)(nil)

// DialHook passes dials through.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one round trip and one command.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one round trip carrying len(cmds) commands.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.trips.Add(1)
		c.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
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
