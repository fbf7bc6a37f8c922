package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// Stop past its deadline cancels the handlers; the answers of those that
// then return (here a retry, as the Handler doc asks) are acknowledged
// before Stop returns, so the messages wait out their backoff instead of
// their lock, even if the process exits (closing its connections) at once.
func TestWorkerStopFlushesAnswersAfterTheDeadline(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		q := core.NewQueue(env.b, "stop-flush")
		ids := publishN(t, env.b, q.Name(), 50)
		var started sync.WaitGroup
		started.Add(50)
		w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			started.Done()
			<-ctx.Done()
			return core.Retry(time.Minute)
		}), core.WithConcurrency(50), core.WithLogger(quiet))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		started.Wait()
		sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := w.Stop(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want its context's deadline error", err)
		}
		env.exit()
		acked := 0
		for _, id := range ids {
			s, err := env.inspect.MessageStatus(ctx, q.Name(), id)
			if err != nil {
				t.Fatal(err)
			}
			if s == core.StatusQueuedWithBackoff {
				acked++
			}
		}
		if acked != 50 {
			t.Fatalf("%d of 50 retries acknowledged when Stop returned, want all", acked)
		}
		if st := w.Stats(); st.Retry != 50 || st.InFlight != 0 {
			t.Fatalf("stats after stop: %+v", st)
		}
	})
}

// A handler that ignores its context holds Stop no longer than the deadline
// and the grace.
func TestWorkerStopGraceBoundsTheWait(t *testing.T) {
	t.Parallel()
	q := core.NewQueue(newMem(t), "stop-grace")
	publishN(t, q.Backend(), q.Name(), 1)
	started, release := make(chan struct{}), make(chan struct{})
	w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		close(started)
		<-release // ignores ctx
		return core.Success()
	}), core.WithStopGrace(200*time.Millisecond), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	begin := time.Now() // before the deadline's clock starts
	sctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Stop(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want deadline exceeded", err)
	}
	if d := time.Since(begin); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("Stop took %s, want the 100ms deadline plus the 200ms grace", d)
	}
	close(release)
	// The late answer still goes out once the handler returns; let the
	// worker's goroutines end before the leak check.
	waitFor(t, "the late answer", 5*time.Second, func() bool { return w.Stats().InFlight == 0 })
}

func TestWorkerRejectsNegativeStopGrace(t *testing.T) {
	t.Parallel()
	q := core.NewQueue(newMem(t), "stop-grace-bad")
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	w, err := core.NewWorker(q, h, core.WithStopGrace(-time.Second))
	var ie *core.InvalidError
	if w != nil || !errors.As(err, &ie) || ie.Field != "WithStopGrace" {
		t.Fatalf("NewWorker = %v, %v; want an *InvalidError naming WithStopGrace", w, err)
	}
}
