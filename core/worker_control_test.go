package core_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// dequeueCounting counts the worker's dequeue calls, keeping the
// backend's WaitDequeue.
type dequeueCounting struct {
	core.Backend
	calls atomic.Int64
}

func (d *dequeueCounting) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	d.calls.Add(1)
	return d.Backend.Dequeue(ctx, p)
}

func (d *dequeueCounting) WaitDequeue(ctx context.Context, p core.WaitDequeueParams) (core.DequeueResult, error) {
	d.calls.Add(1)
	return d.Backend.(core.WaitDequeuer).WaitDequeue(ctx, p)
}

// A pause stops a running worker from taking messages within one wait
// cycle, without spinning while paused; enqueues still succeed; a resume
// lets it take them.
func TestWorkerPauseAndResume(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		counting := &dequeueCounting{Backend: env.b}
		q := core.NewQueue(counting, "paused")
		pub := core.NewPublisher(env.b)
		var handled atomic.Int64
		maxWait := 100 * time.Millisecond
		w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			handled.Add(1)
			return core.Success()
		}), core.WithMaxWait(maxWait))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stop(t, w)
		if _, err := pub.Enqueue(ctx, "paused", []byte("1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first message", 5*time.Second, func() bool { return handled.Load() == 1 })

		if err := q.Pause(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(maxWait + 50*time.Millisecond) // one wait cycle: the worker has seen the pause
		for i := range 5 {
			if _, err := pub.Enqueue(ctx, "paused", fmt.Appendf(nil, "p%d", i)); err != nil {
				t.Fatalf("enqueue to a paused queue: %v", err)
			}
		}
		before := counting.calls.Load()
		idle := 600 * time.Millisecond
		time.Sleep(idle)
		if n := handled.Load(); n != 1 {
			t.Fatalf("a paused queue's worker handled %d messages, want 1", n)
		}
		calls := counting.calls.Load() - before
		if most := int64(idle/maxWait) + 2; calls > most {
			t.Fatalf("a paused worker made %d dequeue calls in %s, want at most %d (one per wait cycle)", calls, idle, most)
		}
		st, err := q.Stats(ctx)
		if err != nil || !st.Paused || st.Queued != 5 {
			t.Fatalf("stats of the paused queue: %+v, %v; want paused, 5 queued", st, err)
		}
		if err := q.Resume(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the messages enqueued while paused", 5*time.Second, func() bool { return handled.Load() == 6 })
	})
}

// Cancelling a message a long handler holds cancels the handler's context
// within one heartbeat, with ErrCanceled as the cause; the message ends
// there: no retry, no dead letter.
func TestWorkerCancelRunningHandler(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		q := core.NewQueue(env.b, "cancel")
		heartbeat := 100 * time.Millisecond
		long := newLongHandling()
		w := newWorker(t, q, long, core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(heartbeat))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := core.NewPublisher(env.b).Enqueue(ctx, "cancel", []byte("x"), core.WithID("long")); err != nil {
			t.Fatal(err)
		}
		cancelRunning(t, q, "long", long, heartbeat)
		stop(t, w)
		if s := w.Stats(); s.Canceled != 1 || s.Error != 0 || s.Retry != 0 {
			t.Fatalf("stats: canceled %d, error %d, retry %d; want 1, 0, 0", s.Canceled, s.Error, s.Retry)
		}
		checkEndedCanceled(t, q, "long")
	})
}

// A handler that fails for a reason of its own after its message was
// cancelled is an error, dead-lettered as usual; one that succeeds anyway
// is a success.
func TestWorkerCancelOwnFailure(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		q := core.NewQueue(env.b, "cancel-own")
		started := make(chan string, 2)
		w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			started <- m.ID
			<-ctx.Done()
			if m.ID == "fails" {
				return core.Fail(errors.New("cleanup failed"))
			}
			return core.Success()
		}), core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(50*time.Millisecond), core.WithConcurrency(2))
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pub := core.NewPublisher(env.b)
		for _, id := range []string{"fails", "succeeds"} {
			if _, err := pub.Enqueue(ctx, "cancel-own", nil, core.WithID(id)); err != nil {
				t.Fatal(err)
			}
		}
		<-started
		<-started
		for _, id := range []string{"fails", "succeeds"} {
			if _, err := q.Cancel(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "both answers", 5*time.Second, func() bool { s := w.Stats(); return s.Error+s.Success == 2 })
		stop(t, w)
		if s := w.Stats(); s.Canceled != 0 || s.Error != 1 || s.Success != 1 {
			t.Fatalf("stats: canceled %d, error %d, success %d; want 0, 1, 1", s.Canceled, s.Error, s.Success)
		}
		dl, err := q.DeadLetters(ctx, 0, 10)
		if err != nil || len(dl) != 1 || dl[0].ID != "fails" || dl[0].Error != "cleanup failed" {
			t.Fatalf("dead letters: %+v, %v; want the one that failed", dl, err)
		}
	})
}

// A running worker is listed with its host, pid, queues, concurrency and
// in-flight count, refreshed by its heartbeat; a stopped one is not.
func TestWorkerRegistry(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		q := core.NewQueue(env.b, "registered")
		release := make(chan struct{})
		w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			<-release
			return core.Success()
		}), core.WithConcurrency(3), core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(50*time.Millisecond))
		before := time.Now()
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := core.NewPublisher(env.b).Enqueue(ctx, "registered", nil); err != nil {
			t.Fatal(err)
		}
		got := awaitRegistration(t, env.inspect, func(got core.WorkerInfo) bool { return got.InFlight == 1 })
		checkRegistration(t, got, 3, before)
		if !slices.Equal(got.Queues, []string{"registered"}) {
			t.Fatalf("registration %+v", got)
		}
		if mine, err := core.NewQueue(env.inspect, "registered").Workers(ctx); err != nil || len(mine) != 1 || mine[0].ID != got.ID {
			t.Fatalf("the queue's workers: %+v, %v; want the one", mine, err)
		}
		if other, err := core.NewQueue(env.inspect, "other").Workers(ctx); err != nil || len(other) != 0 {
			t.Fatalf("another queue's workers: %+v, %v; want none", other, err)
		}
		close(release)
		stop(t, w)
		checkUnregistered(t, env.inspect)
	})
}

// helperEnv names the Redis address and prefix a helper worker process
// uses; set only in the child process of TestWorkerRegistryCrash.
const helperEnv = "REDGHOST_TEST_WORKER_REDIS"

// TestWorkerRegistryCrashHelper is the worker process that
// TestWorkerRegistryCrash kills; run alone, it does nothing.
func TestWorkerRegistryCrashHelper(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("the helper process of TestWorkerRegistryCrash")
	}
	var addr, prefix string
	if _, err := fmt.Sscan(spec, &addr, &prefix); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	b := newRedis(t, c, redisqueue.WithPrefix(prefix))
	w := newWorker(t, core.NewQueue(b, "crash"), core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}), core.WithDefaultLockDuration(500*time.Millisecond), core.WithHeartbeat(100*time.Millisecond))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("started")
	select {} // until killed
}

// A worker process killed with SIGKILL leaves the registry within its
// registration's ttl (its lock duration here).
func TestWorkerRegistryCrash(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("in the helper process")
	}
	srv := redistest.Shared(t)
	prefix := fmt.Sprintf("core%d", redisPrefixes.Add(1))
	b := newRedis(t, srv.Client(t), redisqueue.WithPrefix(prefix))
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerRegistryCrashHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+srv.Addr()+" "+prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) }
	defer kill()
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "started" {
	}
	go func() { // drain, so that the child never blocks on its stdout
		for lines.Scan() {
		}
	}()
	pid := cmd.Process.Pid
	ctx := t.Context()
	listed := func() bool {
		ws, err := b.Workers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(ws, func(w core.WorkerInfo) bool { return w.PID == pid })
	}
	waitFor(t, "the child worker's registration", 10*time.Second, listed)
	kill()
	killed := time.Now()
	waitFor(t, "the killed worker to leave the registry", 5*time.Second, func() bool { return !listed() })
	if took := time.Since(killed); took > 500*time.Millisecond+100*time.Millisecond {
		t.Fatalf("the killed worker was listed for %s, more than its ttl of 500ms", took)
	}
}
