package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// Cancelling a message a pool's handler holds cancels the handler's
// context within one heartbeat, with ErrCanceled as the cause; the message
// ends there, counted in its queue's Canceled, and the pool's other queue
// is not touched.
func TestPoolCancelRunningHandler(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		heartbeat := 100 * time.Millisecond
		p := newPool(t, env.b, core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(heartbeat))
		long := newLongHandling()
		var other journal
		if err := p.Handle("pcancel", long); err != nil {
			t.Fatal(err)
		}
		if err := p.Handle("pcancel-other", other.handler(0)); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pub := core.NewPublisher(env.b)
		if _, err := pub.Enqueue(ctx, "pcancel", []byte("x"), core.WithID("long")); err != nil {
			t.Fatal(err)
		}
		q := core.NewQueue(env.b, "pcancel")
		cancelRunning(t, q, "long", long, heartbeat)
		if _, err := pub.Enqueue(ctx, "pcancel-other", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the other queue's message", 5*time.Second, func() bool { return other.count() == 1 })
		stopPool(t, p)
		stats := p.Stats()
		if s := stats["pcancel"]; s.Canceled != 1 || s.Error != 0 || s.Retry != 0 || s.Success != 0 {
			t.Fatalf("stats of the cancelled queue: canceled %d, error %d, retry %d, success %d; want 1, 0, 0, 0",
				s.Canceled, s.Error, s.Retry, s.Success)
		}
		if s := stats["pcancel-other"]; s.Canceled != 0 || s.Success != 1 {
			t.Fatalf("stats of the other queue: canceled %d, success %d; want 0, 1", s.Canceled, s.Success)
		}
		checkEndedCanceled(t, q, "long")
	})
}

// A running pool is listed once in the registry with all its queues, its
// concurrency budget and the messages it holds; a queue added while it
// runs joins the entry at the next heartbeat, and a stopped pool is not
// listed.
func TestPoolRegistry(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		release := make(chan struct{})
		blocked := core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			<-release
			return core.Success()
		})
		p := newPool(t, env.b, core.WithConcurrency(3), core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(50*time.Millisecond))
		for _, name := range []string{"preg-b", "preg-a"} {
			if err := p.Handle(name, blocked); err != nil {
				t.Fatal(err)
			}
		}
		before := time.Now()
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pub := core.NewPublisher(env.b)
		for _, name := range []string{"preg-a", "preg-b"} {
			if _, err := pub.Enqueue(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
		}
		listed := func(queues []string) func(core.WorkerInfo) bool {
			return func(got core.WorkerInfo) bool { return got.InFlight == 2 && slices.Equal(got.Queues, queues) }
		}
		got := awaitRegistration(t, env.inspect, listed([]string{"preg-a", "preg-b"}))
		checkRegistration(t, got, 3, before)
		for _, name := range []string{"preg-a", "preg-b"} {
			if mine, err := core.NewQueue(env.inspect, name).Workers(ctx); err != nil || len(mine) != 1 || mine[0].ID != got.ID {
				t.Fatalf("the workers of %s: %+v, %v; want the pool", name, mine, err)
			}
		}
		if err := p.Handle("preg-c", blocked); err != nil {
			t.Fatal(err)
		}
		if again := awaitRegistration(t, env.inspect, listed([]string{"preg-a", "preg-b", "preg-c"})); again.ID != got.ID {
			t.Fatalf("after Handle the pool is registered as %q, was %q", again.ID, got.ID)
		}
		close(release)
		stopPool(t, p)
		checkUnregistered(t, env.inspect)
	})
}

// Pool.Start asks a HealthChecker backend about each of its queues first
// and answers a refusal, starting nothing.
func TestPoolStartChecksHealth(t *testing.T) {
	refused := errors.New("store refused")
	b := &checkedBackend{Backend: newMem(t), err: refused}
	p := newPool(t, b)
	for _, name := range []string{"jobs", "mail"} {
		if err := p.HandleFunc(name, func(context.Context, *core.Message) core.Result { return core.Success() }); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := p.Start(ctx); !errors.Is(err, refused) {
		t.Fatalf("Start answered %v, want the backend's refusal", err)
	}
	if ws, err := b.Backend.(core.Inspector).Workers(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("after a refused Start: workers %+v, %v; want none", ws, err)
	}
	b.err = nil // fixed: a later Start goes ahead
	b.checks = nil
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.checks, []string{"jobs", "mail"}) {
		t.Fatalf("checked %q, want jobs and mail", b.checks)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitAnyCounting is dequeueCounting that keeps the backend's WaitAny, as
// a pool uses it.
type waitAnyCounting struct{ *dequeueCounting }

func (w waitAnyCounting) WaitAny(ctx context.Context, p core.WaitAnyParams) ([]string, error) {
	return w.Backend.(core.MultiWaiter).WaitAny(ctx, p)
}

// A pause stops a running pool from taking a queue's messages within one
// wait cycle, without a dequeue per enqueue while paused; the pool's other
// queues go on; a resume lets it take them.
func TestPoolPauseAndResume(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		counting := waitAnyCounting{&dequeueCounting{Backend: env.b}}
		maxWait := 100 * time.Millisecond
		p := newPool(t, counting, core.WithMaxWait(maxWait))
		var paused, other journal
		if err := p.Handle("ppaused", paused.handler(0)); err != nil {
			t.Fatal(err)
		}
		if err := p.Handle("ppaused-other", other.handler(0)); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stopPool(t, p)
		pub := core.NewPublisher(env.b)
		if _, err := pub.Enqueue(ctx, "ppaused", []byte("1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first message", 5*time.Second, func() bool { return paused.count() == 1 })

		q := core.NewQueue(env.b, "ppaused")
		if err := q.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(maxWait + 50*time.Millisecond) // one wait cycle: the pool has seen the pause
		before := counting.calls.Load()
		idle := 600 * time.Millisecond
		for i := range 20 {
			if _, err := pub.Enqueue(ctx, "ppaused", fmt.Appendf(nil, "p%d", i)); err != nil {
				t.Fatalf("enqueue to a paused queue: %v", err)
			}
			time.Sleep(idle / 20)
		}
		if n := paused.count(); n != 1 {
			t.Fatalf("the pool handled %d messages of a paused queue, want 1", n)
		}
		calls := counting.calls.Load() - before
		if most := int64(idle/maxWait) + 2; calls > most {
			t.Fatalf("the pool made %d dequeue calls in %s over a paused queue, want at most %d (one per wait cycle)", calls, idle, most)
		}
		if _, err := pub.Enqueue(ctx, "ppaused-other", nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the other queue's message", 5*time.Second, func() bool { return other.count() == 1 })
		if err := q.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the messages enqueued while paused", 5*time.Second, func() bool { return paused.count() == 21 })
	})
}
