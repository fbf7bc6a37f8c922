package queuestats

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redghost/redghost/core"
)

// Read answers in the order of the queues, never has more than Parallel
// calls in flight, and answers the first failed queue's error.
func TestRead(t *testing.T) {
	queues := make([]string, 3*Parallel)
	for i := range queues {
		queues[i] = strconv.Itoa(i)
	}
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	stats := func(_ context.Context, q string) (core.QueueStats, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if n == Parallel {
			once.Do(func() { close(release) }) // the bound is reached: let every call finish
		}
		<-release
		i, _ := strconv.Atoi(q)
		return core.QueueStats{Total: int64(i)}, nil
	}
	got, err := Read(context.Background(), queues, stats)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got {
		if s.Total != int64(i) {
			t.Fatalf("stats[%d].Total = %d, want %d", i, s.Total, i)
		}
	}
	if m := most.Load(); m != Parallel {
		t.Errorf("at most %d calls in flight, want %d", m, Parallel)
	}

	errA, errB := errors.New("a"), errors.New("b")
	_, err = Read(context.Background(), []string{"ok", "a", "b"}, func(_ context.Context, q string) (core.QueueStats, error) {
		switch q {
		case "a":
			return core.QueueStats{}, errA
		case "b":
			return core.QueueStats{}, errB
		}
		return core.QueueStats{}, nil
	})
	if err != errA {
		t.Errorf("err = %v, want the first failed queue's", err)
	}
}
