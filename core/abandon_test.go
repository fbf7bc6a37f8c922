package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// Outside a worker or pool there is no Handling to abandon.
func TestHandlingOfOutsideAWorker(t *testing.T) {
	if h := core.HandlingOf(context.Background()); h != nil {
		t.Fatalf("HandlingOf(Background) = %v, want nil", h)
	}
}

// A handling abandoned from another goroutine is answered at once with the
// given result, counted, and acknowledged; the worker keeps its
// concurrency, Stop does not wait for the abandoned handler, and the
// handler's late answer is dropped. A Handling of a handler that has
// returned cannot be abandoned, and its context no longer answers it.
func TestAbandonOnAWorkerAndAPool(t *testing.T) {
	t.Parallel()
	for _, runner := range []string{"worker", "pool"} {
		t.Run(runner, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := newMem(t)
			q := core.NewQueue(b, "abandon")
			release := make(chan struct{})
			var releaseOnce sync.Once
			defer releaseOnce.Do(func() { close(release) })
			stuck := make(chan *core.Handling, 1)
			returned := make(chan struct{})
			var (
				mu   sync.Mutex
				done []*core.Handling
				ctxs []context.Context // the handlers' contexts of done
			)
			h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
				hd := core.HandlingOf(ctx)
				if hd == nil {
					t.Error("no Handling in a worker's handler")
					return core.Success()
				}
				if m.ID == "m00000" && m.Attempt == 1 {
					stuck <- hd
					<-release // the late answer below is dropped
					defer close(returned)
					return core.Fail(errors.New("late"))
				}
				mu.Lock()
				done = append(done, hd)
				ctxs = append(ctxs, ctx)
				mu.Unlock()
				return core.Success()
			})
			var s interface {
				Start(context.Context) error
				Stop(context.Context) error
				Stats() core.WorkerStats
			}
			opts := []core.WorkerOption{core.WithLogger(quiet), core.WithConcurrency(1), core.WithMaxWait(10 * time.Millisecond)}
			if runner == "worker" {
				s = newWorker(t, q, h, opts...)
			} else {
				p, err := core.NewPool(b, core.WithLogger(quiet), core.WithConcurrency(1), core.WithMaxWait(10*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Handle(q.Name(), h); err != nil {
					t.Fatal(err)
				}
				s = poolStats{p, q.Name()}
			}
			publishN(t, b, q.Name(), 5)
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			hd := <-stuck
			if !hd.Abandon(core.Retry(0)) {
				t.Fatal("Abandon of a running handling reported false")
			}
			if hd.Abandon(core.Retry(0)) {
				t.Fatal("a second Abandon reported true")
			}
			// With concurrency 1, the others are handled only if the
			// abandoned handler's place was taken; the abandoned message
			// comes back (a retry) and is handled again.
			waitFor(t, "all handled", 5*time.Second, func() bool {
				st := s.Stats()
				return st.Success == 5 && st.Retry == 1
			})
			mu.Lock()
			for i, d := range done {
				if d.Abandon(core.Retry(0)) {
					t.Error("Abandon of a returned handling reported true")
				}
				if got := core.HandlingOf(ctxs[i]); got != nil {
					t.Errorf("HandlingOf the context of a returned handler = %v, want nil", got)
				}
			}
			mu.Unlock()
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := s.Stop(sctx); err != nil {
				t.Fatalf("Stop with an abandoned handler: %v", err)
			}
			releaseOnce.Do(func() { close(release) })
			<-returned
			if st := s.Stats(); st.Error != 0 || st.Success != 5 || st.Retry != 1 {
				t.Fatalf("stats %+v: the late answer was not dropped", st)
			}
			if qs, err := q.Stats(ctx); err != nil || qs.Queued+qs.Locked+qs.Backoff+qs.Dead != 0 {
				t.Fatalf("queue %+v %v, want every message handled", qs, err)
			}
		})
	}
}

// poolStats gives a pool the Stats of one of its queues.
type poolStats struct {
	*core.Pool
	queue string
}

func (p poolStats) Stats() core.WorkerStats { return p.Pool.Stats()[p.queue] }
