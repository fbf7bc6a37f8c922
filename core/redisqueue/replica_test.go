package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// startReplica starts a replica of primary and waits until it is in sync.
func startReplica(t testing.TB, primary *redistest.Server) *redistest.Server {
	t.Helper()
	host, port, _ := strings.Cut(primary.Addr(), ":")
	r := redistest.Start(t, redistest.WithArgs("--replicaof", host, port))
	c := r.Client(t)
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not in sync: %v %s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With WithReplicaAck an enqueue returns once a replica has the message;
// with the replica gone it answers ErrNotReplicated, and the message is
// still on the primary.
func TestReplicaAck(t *testing.T) {
	t.Parallel()
	primary := redistest.Start(t)
	replica := startReplica(t, primary)
	ctx := context.Background()
	pc, rc := primary.Client(t), replica.Client(t)
	b := mustNew(t, pc, WithReplicaAck(1, 500*time.Millisecond))

	// The script is not cached yet (EVALSHA falls back to EVAL), then is.
	if err := pc.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("m%d", i)
		enqueue(t, b, "q", id)
		// No wait: the replica has it the moment Enqueue returns.
		if ok, err := rc.HExists(ctx, "rg:{q}:msgs", id).Result(); err != nil || !ok {
			t.Fatalf("%s not on the replica right after the enqueue: %v %v", id, ok, err)
		}
	}

	// Concurrent enqueues share script calls; each still waits.
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: fmt.Sprintf("c%d", i)}})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rc.HLen(ctx, "rg:{q}:msgs").Result(); err != nil || n != 23 {
		t.Fatalf("replica holds %d messages (%v), want 23", n, err)
	}

	replica.Stop()
	start := time.Now()
	res, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "lonely"}})
	if err == nil {
		err = res[0].Err
	}
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("enqueue without a replica: %v, want ErrNotReplicated", err)
	}
	if !strings.Contains(err.Error(), `enqueue to "q"`) || !strings.Contains(err.Error(), "0 of 1 replicas") {
		t.Fatalf("error does not say what happened: %v", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
		t.Fatalf("the enqueue waited %s, want the 500ms timeout", d)
	}
	if st, err := b.MessageStatus(ctx, "q", "lonely"); err != nil || st != core.StatusQueued {
		t.Fatalf("the primary does not hold the unconfirmed message: %v %v", st, err)
	}
	// Enqueued again with the same ID: it is there.
	res, err = b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "lonely"}})
	if err == nil {
		err = res[0].Err
	}
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("second enqueue without a replica: %v", err)
	}
}

func TestReplicaAckRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	slow := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: 200 * time.Millisecond})
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": srv.Addr()}})
	t.Cleanup(func() { _ = slow.Close(); _ = ring.Close() })
	for _, tc := range []struct {
		client redis.UniversalClient
		n      int
		d      time.Duration
		want   string
	}{
		{c, 0, time.Second, "replicas must be at least 1, got 0"},
		{c, -1, time.Second, "got -1"},
		{c, 1, 0, "timeout must be at least 1ms"},
		{c, 1, time.Microsecond, "got 1µs"},
		{slow, 1, 200 * time.Millisecond, "not below the client's ReadTimeout 200ms"},
		{ring, 1, time.Second, "got *redis.Ring"},
	} {
		_, err := New(tc.client, WithReplicaAck(tc.n, tc.d))
		var ie *core.InvalidError
		if !errors.As(err, &ie) || ie.Field != "WithReplicaAck" || !strings.Contains(ie.Reason, tc.want) {
			t.Errorf("WithReplicaAck(%d, %s) on %T: %v, want an InvalidError saying %q", tc.n, tc.d, tc.client, err, tc.want)
		}
	}
	if _, err := New(slow, WithReplicaAck(1, 100*time.Millisecond)); err != nil {
		t.Errorf("a valid WithReplicaAck: %v", err)
	}
}

// BenchmarkEnqueueReplicaAck measures what WithReplicaAck costs an enqueue
// against a primary with one replica on the same machine, without and with
// the option side by side:
//
//	go test -run '^$' -bench EnqueueReplicaAck ./core/redisqueue/
func BenchmarkEnqueueReplicaAck(b *testing.B) {
	primary := redistest.Start(b)
	startReplica(b, primary)
	c := primary.Client(b)
	for _, batch := range []int{1, 100} {
		for _, ack := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/ack=%t", batch, ack), func(b *testing.B) {
				var opts []Option
				if ack {
					opts = append(opts, WithReplicaAck(1, time.Second))
				}
				be := mustNew(b, c, opts...)
				reqs := make([]core.EnqueueRequest, batch)
				payload := make([]byte, 100)
				b.ReportAllocs()
				for b.Loop() {
					for i := range reqs {
						reqs[i] = core.EnqueueRequest{Queue: "bench", Payload: payload}
					}
					if _, err := be.Enqueue(context.Background(), reqs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

// On a cluster the enqueue and its WAIT go to the queue's master together
// (WAIT has no key to route it by): a master without replicas answers 0,
// so the enqueue is applied and reported as not replicated.
func TestReplicaAckCluster(t *testing.T) {
	t.Parallel()
	_, cc := redistest.StartCluster(t)
	ctx := context.Background()
	b := mustNew(t, cc, WithReplicaAck(1, 50*time.Millisecond))
	_, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "m1"}, {Queue: "r", ID: "m2"}})
	if !errors.Is(err, ErrNotReplicated) || !strings.Contains(err.Error(), "0 of 1 replicas acknowledged within 50ms") {
		t.Fatalf("enqueue on a master without replicas: %v, want ErrNotReplicated", err)
	}
	for _, q := range []string{"q", "r"} {
		if s, err := b.QueueStats(ctx, q); err != nil || s.Queued != 1 {
			t.Fatalf("queue %s on the master: %+v %v, want the message applied", q, s, err)
		}
	}
}
