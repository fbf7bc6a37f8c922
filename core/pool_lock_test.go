package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/queuetest"
)

// A pool frozen past its locks and resumed: another worker has taken the
// messages of both its queues meanwhile. The heartbeat learns the locks
// are lost and cancels the running handlers with ErrLockLost as the cause;
// each queue counts its own losses.
func TestPoolLockLostCancelsTheHandler(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		f := &frozen{Backend: env.b}
		const lock = time.Second
		p := newPool(t, f, core.WithConcurrency(4), core.WithDefaultLockDuration(lock),
			core.WithHeartbeat(lock/6), core.WithPrefetch(0))
		var started sync.WaitGroup
		started.Add(4)
		causes := make(chan error, 4)
		h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			started.Done()
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return core.Retry(0)
		})
		for _, name := range []string{"a", "b"} {
			if err := p.Handle(name, h); err != nil {
				t.Fatal(err)
			}
			publishN(t, f, name, 2)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stopPool(t, p)
		started.Wait()

		f.freeze()
		env.pass(lock + 100*time.Millisecond)
		for _, name := range []string{"a", "b"} {
			stolen, err := env.b.Dequeue(ctx, core.DequeueParams{Queue: name, Max: 10, Lock: time.Minute})
			if err != nil || len(stolen.Messages) != 2 {
				t.Fatalf("another worker took %d of %s's expired messages (%v), want 2", len(stolen.Messages), name, err)
			}
		}
		f.unfreeze()
		for range 4 {
			select {
			case err := <-causes:
				if !errors.Is(err, core.ErrLockLost) {
					t.Fatalf("handler context ended with cause %v, want ErrLockLost", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("handlers still running 5s after their locks were lost")
			}
		}
		waitFor(t, "lost locks counted", 5*time.Second, func() bool {
			st := p.Stats()
			return st["a"].LockLost == 2 && st["b"].LockLost == 2 && st["a"].InFlight == 0 && st["b"].InFlight == 0
		})
	})
}

// extendCounter counts ExtendLocks calls by queue, and the locks each
// carried.
type extendCounter struct {
	core.Backend
	mu    sync.Mutex
	calls map[string][]int
}

func (e *extendCounter) ExtendLocks(ctx context.Context, queue string, locks []core.LockRef) ([]error, error) {
	e.mu.Lock()
	e.calls[queue] = append(e.calls[queue], len(locks))
	e.mu.Unlock()
	return e.Backend.ExtendLocks(ctx, queue, locks)
}

// One heartbeat extends every lock the pool holds with one call per queue
// that holds any: over ten beats (of a manual clock), each busy queue gets
// ten calls, each carrying all its locks, and an idle queue none.
func TestPoolHeartbeatOneCallPerQueue(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		e := &extendCounter{Backend: env.b, calls: make(map[string][]int)}
		const beat = 50 * time.Millisecond
		clk := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		p := newPool(t, e, core.WithConcurrency(6), core.WithDefaultLockDuration(time.Minute), core.WithHeartbeat(beat), core.WithClock(clk))
		release := make(chan struct{})
		var started sync.WaitGroup
		started.Add(6)
		h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			started.Done()
			<-release
			return core.Success()
		})
		for _, name := range []string{"a", "b", "c", "idle"} {
			if err := p.Handle(name, h); err != nil {
				t.Fatal(err)
			}
			if name != "idle" {
				publishN(t, env.b, name, 2)
			}
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		started.Wait()
		if !clk.WaitTickers(2, 5*time.Second) { // the heartbeat's and the monitor's
			t.Fatalf("%d tickers on the pool's clock, want 2", clk.Tickers())
		}
		busy := []string{"a", "b", "c"}
		for beats := 1; beats <= 10; beats++ {
			clk.Advance(beat)
			waitFor(t, fmt.Sprintf("heartbeat %d", beats), 5*time.Second, func() bool {
				e.mu.Lock()
				defer e.mu.Unlock()
				return !slices.ContainsFunc(busy, func(q string) bool { return len(e.calls[q]) < beats })
			})
		}
		e.mu.Lock()
		calls := make(map[string][]int)
		for k, v := range e.calls {
			calls[k] = append([]int(nil), v...)
		}
		e.mu.Unlock()
		close(release)
		stopPool(t, p)
		for _, name := range busy {
			if n := len(calls[name]); n != 10 {
				t.Errorf("queue %s: %d ExtendLocks calls over 10 beats, want 10 (one per beat)", name, n)
			}
			for _, locks := range calls[name] {
				if locks != 2 {
					t.Errorf("queue %s: an ExtendLocks call carried %d locks, want its 2", name, locks)
					break
				}
			}
		}
		if n := len(calls["idle"]); n != 0 {
			t.Errorf("a queue holding nothing got %d ExtendLocks calls", n)
		}
	})
}

// Stop with a deadline cancels the handlers' context once it passes and
// waits at most the grace: a handler that honours its context answers a
// retry, which is acknowledged before Stop returns.
func TestPoolStopDrainsWithGrace(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		p := newPool(t, env.b, core.WithConcurrency(2), core.WithStopGrace(2*time.Second))
		started := make(chan struct{}, 2)
		if err := p.HandleFunc("s", func(ctx context.Context, m *core.Message) core.Result {
			started <- struct{}{}
			<-ctx.Done()
			return core.Retry(0)
		}); err != nil {
			t.Fatal(err)
		}
		publishN(t, env.b, "s", 1)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err := p.Stop(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop past its deadline: %v", err)
		}
		if took := time.Since(begin); took > time.Second {
			t.Fatalf("Stop took %v with a handler that returns when cancelled", took)
		}
		st, err := env.inspect.MessageStatus(context.Background(), "s", "m00000")
		if err != nil || st != core.StatusQueued {
			t.Fatalf("the cancelled handler's message after Stop: %v, %v; want queued again", st, err)
		}
		if s := p.Stats()["s"]; s.Retry != 1 || s.InFlight != 0 {
			t.Fatalf("stats after Stop: %+v", s)
		}
	})
}
