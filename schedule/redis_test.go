package schedule

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// offsetClock is a host's wall clock that is off by skew.
type offsetClock struct{ skew time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().Add(c.skew) }

// The leaderless property on a real Redis: three schedulers whose clocks
// are apart by more than the schedule's interval, one killed and
// restarted, a worker handling (and so garbage-collecting) each message at
// once. Each of 100 consecutive slots is handled exactly once.
func TestRedisSkewedSchedulersEnqueueEachSlotOnce(t *testing.T) {
	t.Parallel()
	srv := redistest.Shared(t)
	b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix(fmt.Sprintf("sched-skew-%d", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	const interval = 40 * time.Millisecond
	const queue = "ticks"

	var mu sync.Mutex
	handled := make(map[string]int)
	w, err := core.NewWorker(core.NewQueue(b, queue), core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		handled[m.ID]++
		mu.Unlock()
		return core.Success()
	}), core.WithLogger(quiet), core.WithMaxWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		if err := <-workerDone; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()

	run := func(skew time.Duration) (stop func()) {
		s, err := New(b, WithClock(offsetClock{skew}), WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		// Catch up whatever a late timer on a busy machine lets pass.
		if err := s.Add("tick", "@every 40ms", queue, "x", WithCatchUp(100)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(handled)
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d slots handled in 30s, want %d", count(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// The first scheduler starts the schedule; the others resume from its
	// last slot (a new schedule's first slot is its first scheduler's).
	stopA := run(0)
	waitFor(1)
	stopB := run(150 * time.Millisecond)
	stopC := run(-250 * time.Millisecond)
	waitFor(30)
	stopB() // killed mid-run
	waitFor(60)
	stopB = run(150 * time.Millisecond)
	waitFor(110)
	time.Sleep(300 * time.Millisecond) // the slowest clock's attempts
	stopA()
	stopB()
	stopC()
	time.Sleep(50 * time.Millisecond) // the worker handles what is left

	mu.Lock()
	defer mu.Unlock()
	var slots []time.Time
	for id, n := range handled {
		if n != 1 {
			t.Errorf("%s handled %d times, want once", id, n)
		}
		at, ok := parseSlotID(id)
		if !ok {
			t.Fatalf("id %q is not a slot's", id)
		}
		slots = append(slots, at)
	}
	slices.SortFunc(slots, time.Time.Compare)
	for i := 1; i < 100; i++ {
		if d := slots[i].Sub(slots[i-1]); d != interval {
			t.Fatalf("slots %d and %d are %v apart, want %v (a slot missed)", i-1, i, d, interval)
		}
	}
	n := 0
	for _, s := range slots[:100] {
		n += handled[SlotID("tick", s)]
	}
	if n != 100 {
		t.Errorf("the first 100 slots were handled %d times, want 100", n)
	}
}

func parseSlotID(id string) (time.Time, bool) {
	i := strings.LastIndexByte(id, '@')
	if i < 0 || id[:i] != "tick" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, id[i+1:])
	return t, err == nil
}
