package core_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// frozen stands for a worker process that is paused (a long GC pause, a
// stopped container): while frozen, its heartbeats and acknowledgements do
// not reach the backend; they go out when it thaws.
type frozen struct {
	core.Backend
	mu   sync.Mutex
	thaw chan struct{} // non-nil while frozen
}

func (f *frozen) freeze() {
	f.mu.Lock()
	f.thaw = make(chan struct{})
	f.mu.Unlock()
}

func (f *frozen) unfreeze() {
	f.mu.Lock()
	close(f.thaw)
	f.thaw = nil
	f.mu.Unlock()
}

func (f *frozen) wait() {
	f.mu.Lock()
	thaw := f.thaw
	f.mu.Unlock()
	if thaw != nil {
		<-thaw
	}
}

func (f *frozen) ExtendLocks(ctx context.Context, queue string, locks []core.LockRef) ([]error, error) {
	f.wait()
	return f.Backend.ExtendLocks(ctx, queue, locks)
}

func (f *frozen) Ack(ctx context.Context, queue string, acks []core.Ack) ([]error, error) {
	f.wait()
	return f.Backend.Ack(ctx, queue, acks)
}

// A worker frozen past its locks and resumed: another worker has taken its
// six messages meanwhile. The heartbeat learns the locks are lost and
// cancels the three handlers still running, with ErrLockLost as the cause;
// the three that had already answered are not told (they have finished)
// and their acknowledgements are refused. Each message counts once in
// LockLost, and only the running handlers get a "lock lost while handling"
// line.
func TestWorkerLockLostCancelsTheHandler(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		f := &frozen{Backend: env.b}
		q := core.NewQueue(f, "lock-lost")
		ids := publishN(t, f, q.Name(), 6)

		const lock = time.Second
		var started, answered sync.WaitGroup
		started.Add(6)
		finish := make(chan struct{})
		causes := make(chan string, 6)
		h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			started.Done()
			var n int
			fmt.Sscanf(m.ID, "m%d", &n)
			if n%2 == 0 { // quick: answers once told to
				<-finish
				answered.Done()
				return core.Success()
			}
			<-ctx.Done() // well-behaved: stops when its context ends
			causes <- m.ID + ": " + fmt.Sprint(context.Cause(ctx))
			return core.Retry(0)
		})
		answered.Add(3)
		logs := &logBuffer{}
		w := newWorker(t, q, h, core.WithConcurrency(6), core.WithDefaultLockDuration(lock),
			core.WithHeartbeat(lock/6), core.WithPrefetch(0), core.WithLogger(logs.logger()))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		started.Wait()

		f.freeze()
		env.pass(lock + 100*time.Millisecond)
		stolen, err := env.b.Dequeue(ctx, core.DequeueParams{Queue: q.Name(), Max: 10, Lock: time.Minute})
		if err != nil || len(stolen.Messages) != 6 {
			t.Fatalf("another worker took %d of the expired messages (%v), want all 6", len(stolen.Messages), err)
		}
		close(finish)
		answered.Wait() // the quick handlers have answered; their acks wait
		f.unfreeze()

		var got []string
		timeout := time.After(5 * time.Second)
		for len(got) < 3 {
			select {
			case c := <-causes:
				got = append(got, c)
			case <-timeout:
				t.Fatalf("handlers still running 5s after their locks were found lost; told so far: %q", got)
			}
		}
		for _, c := range got {
			if !strings.HasSuffix(c, ": "+core.ErrLockLost.Error()) {
				t.Errorf("handler context ended with cause %q, want ErrLockLost", c)
			}
		}
		waitFor(t, "every ack answered", 5*time.Second, func() bool { return w.Stats().InFlight == 0 })
		stop(t, w)

		if n := w.Stats().LockLost; n != 6 {
			t.Errorf("LockLost = %d for 6 messages, want each counted once\n%s", n, logs)
		}
		lost := logs.lines("lock lost while handling")
		if len(lost) != 3 {
			t.Errorf("%d \"lock lost while handling\" lines, want 3 (the handlers still running)\n%s", len(lost), logs)
		}
		for _, line := range lost {
			var n int
			if i := strings.Index(line, "id=m"); i >= 0 {
				fmt.Sscanf(line[i:], "id=m%d", &n)
			}
			if n%2 == 0 {
				t.Errorf("a handler that had finished was reported as losing its lock while handling: %s", line)
			}
		}
		// The fence kept the thief's locks: every message is still its.
		for _, id := range ids {
			if s, err := q.MessageStatus(ctx, id); err != nil || s != core.StatusLocked {
				t.Errorf("%s is %v (%v) after the stale acks, want still locked by the other worker", id, s, err)
			}
		}
	})
}

// Messages a worker holds ahead of its handlers (prefetch) whose locks are
// lost while it is frozen are not handled when it resumes: another worker
// holds them. Only the running handler is told, and each message counts
// once.
func TestWorkerLockLostSkipsHeldMessages(t *testing.T) {
	t.Parallel()
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		f := &frozen{Backend: env.b}
		q := core.NewQueue(f, "lock-lost-held")
		publishN(t, f, q.Name(), 50) // fast ones: the worker learns to prefetch

		const lock = time.Second
		var mu sync.Mutex
		var slow []string
		h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			if !strings.HasPrefix(m.ID, "s") {
				return core.Success()
			}
			mu.Lock()
			slow = append(slow, m.ID)
			mu.Unlock()
			<-ctx.Done()
			return core.Retry(0)
		})
		logs := &logBuffer{}
		w := newWorker(t, q, h, core.WithConcurrency(1), core.WithPrefetch(10), core.WithDefaultLockDuration(lock),
			core.WithHeartbeat(lock/6), core.WithMaxWait(5*time.Millisecond), core.WithLogger(logs.logger()))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stop(t, w)
		waitFor(t, "the fast messages", 5*time.Second, func() bool { return w.Stats().Success == 50 })
		for i := range 11 {
			if _, err := core.NewPublisher(f).Enqueue(ctx, q.Name(), nil, core.WithID(fmt.Sprintf("s%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		// The worker takes what it may hold in one or two batches; then it
		// waits for its handler.
		waitFor(t, "one handling and more held", 5*time.Second, func() bool { return w.Stats().InFlight >= 2 })
		time.Sleep(50 * time.Millisecond)
		held := w.Stats().InFlight

		f.freeze()
		env.pass(lock + 100*time.Millisecond)
		stolen, err := env.b.Dequeue(ctx, core.DequeueParams{Queue: q.Name(), Max: 20, Lock: time.Minute})
		if err != nil || len(stolen.Messages) != 11 {
			t.Fatalf("another worker took %d of the expired messages (%v), want all 11", len(stolen.Messages), err)
		}
		f.unfreeze()
		waitFor(t, "the losses handled", 5*time.Second, func() bool { return w.Stats().InFlight == 0 })
		// The log lines may trail the in-flight count by a moment.
		lines := func() (int, int) {
			return len(logs.lines("lock lost while handling")), len(logs.lines("lock lost before handling"))
		}
		waitFor(t, "the loss log lines", 5*time.Second, func() bool { n, m := lines(); return n >= 1 && int64(m) >= held-1 })

		mu.Lock()
		defer mu.Unlock()
		if len(slow) != 1 {
			t.Errorf("handled %q after their locks were lost, want only the one already running", slow)
		}
		if n := w.Stats().LockLost; n != held {
			t.Errorf("LockLost = %d for the %d messages the worker held\n%s", n, held, logs)
		}
		if n, m := lines(); n != 1 || int64(m) != held-1 {
			t.Errorf("%d lines for a running handler and %d for held messages, want 1 and %d\n%s", n, m, held-1, logs)
		}
	})
}
