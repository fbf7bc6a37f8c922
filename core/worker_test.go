package core_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func publishN(t *testing.T, b core.Backend, queue string, n int) []string {
	t.Helper()
	reqs := make([]core.EnqueueRequest, n)
	for i := range reqs {
		reqs[i] = core.EnqueueRequest{Queue: queue, ID: fmt.Sprintf("m%05d", i), Payload: []byte(fmt.Sprint(i))}
	}
	res, err := core.NewPublisher(b).EnqueueBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, r := range res {
		if r.Err != nil || r.Action != core.Added {
			t.Fatalf("enqueue %d: %+v", i, r)
		}
		ids[i] = r.ID
	}
	return ids
}

// newMem is a fresh in-memory backend.
func newMem(t testing.TB, opts ...memqueue.Option) *memqueue.Backend {
	t.Helper()
	b, err := memqueue.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newWorker is core.NewWorker for options a test knows are valid.
func newWorker(t testing.TB, q *core.Queue, h core.Handler, opts ...core.WorkerOption) *core.Worker {
	t.Helper()
	w, err := core.NewWorker(q, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func stop(t *testing.T, w *core.Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestWorkerHandlesEveryMessageOnce(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "every-once")
	ids := publishN(t, b, q.Name(), 2000)

	var mu sync.Mutex
	seen := map[string]int{}
	var running, peak atomic.Int64
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		seen[m.ID]++
		mu.Unlock()
		running.Add(-1)
		return core.Success()
	})
	// A heartbeat every millisecond races every ack: a lock released by its
	// ack must not be reported as lost.
	w := newWorker(t, q, h, core.WithConcurrency(8), core.WithDefaultLockDuration(5*time.Second),
		core.WithHeartbeat(time.Millisecond), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all handled", 10*time.Second, func() bool { return w.Stats().Success == int64(len(ids)) })
	stop(t, w)

	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("message %s handled %d times", id, seen[id])
		}
	}
	if p := peak.Load(); p > 8 {
		t.Errorf("peak concurrency %d exceeds 8", p)
	}
	st, err := q.Stats(context.Background())
	if err != nil || st.Total != 0 {
		t.Fatalf("queue after: %+v %v", st, err)
	}
	ws := w.Stats()
	if ws.Handling.Count != int64(len(ids)) || ws.Queueing.Count != int64(len(ids)) || ws.InFlight != 0 || ws.LockLost != 0 {
		t.Errorf("stats: %+v", ws)
	}
}

func TestWorkerStopWaitsForInFlight(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "stop-waits")
	publishN(t, b, q.Name(), 1)
	started, release := make(chan struct{}), make(chan struct{})
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		close(started)
		<-release
		return core.Success()
	})
	w := newWorker(t, q, h, core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- w.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a handler was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if st, _ := q.MessageStatus(context.Background(), "m00000"); st != core.StatusNone {
		t.Fatalf("after stop the message is %s, want it acknowledged (none)", st)
	}
}

// A handler that ignores cancellation past Stop's deadline keeps nothing:
// its lock stops being extended, the message comes back to another worker,
// and the late answer is fenced off.
func TestWorkerStopDeadlineLosesNothing(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "stop-deadline")
	publishN(t, b, q.Name(), 1)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	stuck := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		once.Do(func() { close(started) })
		<-release // ignores ctx
		return core.Success()
	})
	w1 := newWorker(t, q, stuck, core.WithDefaultLockDuration(200*time.Millisecond), core.WithLogger(quiet))
	if err := w1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w1.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want deadline exceeded", err)
	}

	got := make(chan *core.Message, 1)
	w2 := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		got <- m
		return core.Success()
	}), core.WithDefaultLockDuration(time.Second), core.WithLogger(quiet))
	if err := w2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.ID != "m00000" || m.Attempt != 2 {
			t.Fatalf("second worker got %s attempt %d", m.ID, m.Attempt)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stuck handler's message never came back")
	}
	stop(t, w2)
	close(release) // the late answer of the first handler is fenced off
	waitFor(t, "late ack refused", 2*time.Second, func() bool { return w1.Stats().LockLost == 1 })
	if w2.Stats().Success != 1 {
		t.Fatalf("w2 stats %+v", w2.Stats())
	}
}

// extendCounting counts the ExtendLocks calls a worker makes.
type extendCounting struct {
	core.Backend
	extends atomic.Int64
}

func (e *extendCounting) ExtendLocks(ctx context.Context, queue string, locks []core.LockRef) ([]error, error) {
	errs, err := e.Backend.ExtendLocks(ctx, queue, locks)
	e.extends.Add(1)
	return errs, err
}

// The heartbeat keeps a long handling locked: time moves four lock lengths
// on the shared manual clock, one heartbeat at a time, and the second
// worker never gets the message. The heartbeat runs on the worker's clock:
// in real time its 10 s interval would never come within the test.
func TestWorkerHeartbeatKeepsLongHandlerLocked(t *testing.T) {
	t.Parallel()
	clock := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	b := &extendCounting{Backend: newMem(t, memqueue.WithClock(clock))}
	q := core.NewQueue(b, "heartbeat")
	publishN(t, b, q.Name(), 1)
	var calls atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return core.Success()
	})
	// Two workers: without the heartbeat the other one would take the
	// message when the 30 s lock expires.
	const lock, beat = 30 * time.Second, 10 * time.Second
	var ws []*core.Worker
	for range 2 {
		w := newWorker(t, q, h, core.WithDefaultLockDuration(lock), core.WithHeartbeat(beat),
			core.WithMaxWait(5*time.Millisecond), core.WithClock(clock), core.WithLogger(quiet))
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	<-started
	if !clock.WaitTickers(4, 5*time.Second) { // a heartbeat and a monitor each
		t.Fatalf("%d tickers on the worker clock, want 4", clock.Tickers())
	}
	for i := range 12 { // four lock lengths
		before := b.extends.Load()
		clock.Advance(beat)
		waitFor(t, fmt.Sprintf("heartbeat %d", i+1), 5*time.Second, func() bool { return b.extends.Load() > before })
		// The idle worker polls in between, on the same clock.
		sleeps := ws[0].Stats().Sleeps + ws[1].Stats().Sleeps
		waitFor(t, "the idle worker to look again", 5*time.Second, func() bool {
			return ws[0].Stats().Sleeps+ws[1].Stats().Sleeps > sleeps
		})
		if st, err := q.MessageStatus(context.Background(), "m00000"); err != nil || st != core.StatusLocked {
			t.Fatalf("after %s the message is %v (%v), want locked", time.Duration(i+1)*beat, st, err)
		}
	}
	close(release)
	waitFor(t, "handled", 5*time.Second, func() bool { return ws[0].Stats().Success+ws[1].Stats().Success == 1 })
	for _, w := range ws {
		stop(t, w)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler called %d times, want 1", n)
	}
	if lost := ws[0].Stats().LockLost + ws[1].Stats().LockLost; lost != 0 {
		t.Fatalf("%d locks lost", lost)
	}
}

func TestWorkerWakesOnEnqueue(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "wakes")
	got := make(chan time.Time, 1)
	w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		got <- time.Now()
		return core.Success()
	}), core.WithMaxWait(time.Minute), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, w)
	waitFor(t, "worker idle", 2*time.Second, func() bool { return w.Stats().Sleeps > 0 })
	sent := time.Now()
	publishN(t, b, q.Name(), 1)
	select {
	case at := <-got:
		if d := at.Sub(sent); d > 500*time.Millisecond {
			t.Fatalf("woke after %s; the wait should end on enqueue", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an idle worker with a one-minute wait was not woken by the enqueue")
	}
}

// flaky fails the first n Dequeue calls, as a Redis outage would.
type flaky struct {
	core.Backend
	fails atomic.Int64
}

func (f *flaky) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	if f.fails.Add(-1) >= 0 {
		return core.DequeueResult{}, errors.New("connection refused")
	}
	return f.Backend.Dequeue(ctx, p)
}

func TestWorkerBacksOffOnBackendErrorsAndRecovers(t *testing.T) {
	t.Parallel()
	f := &flaky{Backend: newMem(t)}
	f.fails.Store(5)
	q := core.NewQueue(f, "flaky")
	publishN(t, f, q.Name(), 10)
	w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() }),
		core.WithErrorBackoff(time.Millisecond, 20*time.Millisecond), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery", 5*time.Second, func() bool { return w.Stats().Success == 10 })
	stop(t, w)
	if e := w.Stats().BackendErrors; e != 5 {
		t.Fatalf("backend errors = %d, want 5", e)
	}
}

func TestWorkerPanicIsAnErrorOutcome(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "panics")
	publishN(t, b, q.Name(), 3)
	w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if m.ID == "m00001" {
			panic("boom")
		}
		return core.Success()
	}), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all handled", 5*time.Second, func() bool { st := w.Stats(); return st.Success == 2 && st.Error == 1 })
	stop(t, w)
	dead, err := q.DeadLetters(context.Background(), 0, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != "m00001" || !strings.HasPrefix(dead[0].Error, "redghost: handler panicked: boom\n") {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
}

// A handler that changes the message it was given changes neither what the
// worker acknowledges nor another handler's message.
func TestWorkerAckIgnoresHandlerChanges(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "scribbles")
	ids := publishN(t, b, q.Name(), 20)
	var mu sync.Mutex
	seen := map[string]string{}
	w := newWorker(t, q, core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		seen[m.ID] = string(m.Payload)
		mu.Unlock()
		m.ID, m.Queue, m.Payload = "scribbled", "elsewhere", nil
		return core.Success()
	}), core.WithLogger(quiet), core.WithConcurrency(4))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all handled", 5*time.Second, func() bool { return w.Stats().Success == 20 })
	stop(t, w)
	for i, id := range ids {
		if got := seen[id]; got != fmt.Sprint(i) {
			t.Fatalf("%s was handled with payload %q, want %q", id, got, fmt.Sprint(i))
		}
		if s, err := q.MessageStatus(context.Background(), id); err != nil || s != core.StatusNone {
			t.Fatalf("%s after a success: %v %v, want gone", id, s, err)
		}
	}
	if st := w.Stats(); st.LockLost != 0 {
		t.Fatalf("%d acks lost their lock", st.LockLost)
	}
}

type email struct {
	UserID string `json:"user_id"`
	Body   string `json:"body"`
}

func TestTypedHandlerDecodesAndReportsBadPayloads(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "users.email")
	pub := core.NewPublisher(b)
	ctx := context.Background()
	if _, err := pub.Publish(ctx, q.Name(), email{UserID: "abc", Body: "hi!"}, core.WithID("good")); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Enqueue(ctx, q.Name(), []byte("{not json"), core.WithID("bad")); err != nil {
		t.Fatal(err)
	}
	got := make(chan email, 2)
	w := newWorker(t, q, core.Typed(func(ctx context.Context, e email) core.Result {
		if core.MessageFrom(ctx).ID != "good" {
			t.Errorf("MessageFrom = %+v", core.MessageFrom(ctx))
		}
		got <- e
		return core.Success()
	}), core.WithConcurrency(1), core.WithLogger(quiet))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both handled", 5*time.Second, func() bool { st := w.Stats(); return st.Success+st.Error == 2 })
	stop(t, w)
	if e := <-got; e != (email{UserID: "abc", Body: "hi!"}) {
		t.Fatalf("decoded %+v", e)
	}
	dead, err := q.DeadLetters(ctx, 0, 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	for _, want := range []string{`queue "users.email"`, `message "bad"`, "core_test.email"} {
		if !strings.Contains(dead[0].Error, want) {
			t.Errorf("decode error %q does not name %s", dead[0].Error, want)
		}
	}
}

func TestNewWorkerRejectsBadOptions(t *testing.T) {
	t.Parallel()
	q := core.NewQueue(newMem(t), "opts")
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	for _, tc := range []struct {
		name  string
		q     *core.Queue
		h     core.Handler
		opts  []core.WorkerOption
		field string
	}{
		{"zero concurrency", q, h, []core.WorkerOption{core.WithConcurrency(0)}, "WithConcurrency"},
		{"negative batch", q, h, []core.WorkerOption{core.WithMaxBatch(-1)}, "WithMaxBatch"},
		{"negative prefetch", q, h, []core.WorkerOption{core.WithPrefetch(-1)}, "WithPrefetch"},
		{"zero lock", q, h, []core.WorkerOption{core.WithDefaultLockDuration(0)}, "WithDefaultLockDuration"},
		{"lock too long", q, h, []core.WorkerOption{core.WithDefaultLockDuration(core.MaxDuration + 1)}, "WithDefaultLockDuration"},
		{"heartbeat >= lock", q, h, []core.WorkerOption{core.WithDefaultLockDuration(time.Second), core.WithHeartbeat(time.Second)}, "WithHeartbeat"},
		{"negative heartbeat", q, h, []core.WorkerOption{core.WithHeartbeat(-time.Second)}, "WithHeartbeat"},
		{"zero wait", q, h, []core.WorkerOption{core.WithMaxWait(0)}, "WithMaxWait"},
		{"backoff min > max", q, h, []core.WorkerOption{core.WithErrorBackoff(time.Second, time.Millisecond)}, "WithErrorBackoff"},
		{"zero backoff", q, h, []core.WorkerOption{core.WithErrorBackoff(0, time.Second)}, "WithErrorBackoff"},
		{"zero monitor interval", q, h, []core.WorkerOption{core.WithMonitor(0, nil)}, "WithMonitor"},
		{"nil logger", q, h, []core.WorkerOption{core.WithLogger(nil)}, "WithLogger"},
		{"nil clock", q, h, []core.WorkerOption{core.WithClock(nil)}, "WithClock"},
		{"nil handler", q, nil, nil, "handler"},
		{"nil queue", nil, h, nil, "queue"},
		{"bad queue name", core.NewQueue(newMem(t), "bad{name}"), h, nil, "queue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := core.NewWorker(tc.q, tc.h, tc.opts...)
			var ie *core.InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("NewWorker = %v; want an *InvalidError naming %s", err, tc.field)
			}
			if w != nil {
				t.Fatal("NewWorker answered a worker with its error")
			}
		})
	}
}

func TestWorkerStartsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := core.NewQueue(newMem(t), "start-once")
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })

	w := newWorker(t, q, h, core.WithLogger(quiet))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); !errors.Is(err, core.ErrStarted) {
		t.Fatalf("second Start = %v, want ErrStarted", err)
	}
	if err := w.Run(ctx); !errors.Is(err, core.ErrStarted) {
		t.Fatalf("Run on a running worker = %v, want ErrStarted", err)
	}
	stop(t, w)
	stop(t, w) // a second Stop is harmless
	if err := w.Start(ctx); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Start after Stop = %v, want ErrClosed", err)
	}

	never := newWorker(t, q, h, core.WithLogger(quiet))
	stop(t, never)
	if err := never.Start(ctx); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Start after a Stop before any Start = %v, want ErrClosed", err)
	}
}

// The worker's own clock feeds statistics only: a worker whose clock is an
// hour ahead does not handle a delayed message early.
func TestWorkerClockSkewChangesNothing(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "skew")
	enqueued := time.Now() // before the backend reads its clock for the delay
	if _, err := core.NewPublisher(b).Enqueue(context.Background(), q.Name(), []byte("x"), core.WithDelay(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		got <- time.Now()
		return core.Success()
	}), core.WithClock(skewed{time.Hour}), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, w)
	select {
	case at := <-got:
		if d := at.Sub(enqueued); d < 300*time.Millisecond {
			t.Fatalf("handled after %s, before its 300ms delay", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("never handled")
	}
}

type skewed struct{ d time.Duration }

func (s skewed) Now() time.Time { return time.Now().Add(s.d) }

func TestWorkerMonitorReportsQueueSize(t *testing.T) {
	t.Parallel()
	clock := queuetest.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	b := newMem(t, memqueue.WithClock(clock))
	q := core.NewQueue(b, "monitor")
	publishN(t, b, q.Name(), 5)
	infos := make(chan core.MonitorInfo, 16)
	release := make(chan struct{})
	w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		<-release
		return core.Success()
	}), core.WithConcurrency(1), core.WithMaxBatch(1), core.WithDefaultLockDuration(time.Hour),
		core.WithClock(clock), core.WithMonitor(time.Minute, func(i core.MonitorInfo) {
			infos <- i
		}), core.WithLogger(quiet))
	if w.Stats().Running {
		t.Fatal("Running before Start")
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !w.Stats().Running {
		t.Fatal("not Running after Start")
	}
	if !clock.WaitTickers(2, 5*time.Second) {
		t.Fatalf("%d tickers on the worker clock, want 2", clock.Tickers())
	}
	clock.Advance(59 * time.Second)
	select {
	case i := <-infos:
		t.Fatalf("monitor reported %+v before its interval", i)
	case <-time.After(20 * time.Millisecond):
	}
	clock.Advance(time.Second)
	i := <-infos
	close(release)
	stop(t, w)
	if i.Queue != "monitor" || i.QueueSize != 5 || i.Err != nil {
		t.Fatalf("monitor info %+v", i)
	}
	// The worker holds one or two messages; the others have waited since
	// they were published, a minute ago on the shared clock.
	if i.Stats.OldestReady != time.Minute {
		t.Fatalf("monitor info: OldestReady %v, want 1m", i.Stats.OldestReady)
	}
	if st := w.Stats(); st.Running || st.QueueSize != 5 || st.OldestReady != time.Minute {
		t.Fatalf("worker stats after the monitor reading and Stop: running %v, queue size %d, oldest ready %v; want false, 5, 1m",
			st.Running, st.QueueSize, st.OldestReady)
	}
	if n := clock.Tickers(); n != 0 {
		t.Fatalf("%d tickers still running after Stop", n)
	}
}

// A clock that only tells the time (no tickers) leaves the intervals in
// real time.
func TestWorkerMonitorTicksInRealTimeOnAPlainClock(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "monitor-plain")
	infos := make(chan core.MonitorInfo, 1)
	w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() }),
		core.WithClock(skewed{time.Hour}), core.WithMonitor(10*time.Millisecond, func(i core.MonitorInfo) {
			select {
			case infos <- i:
			default:
			}
		}), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, w)
	select {
	case <-infos:
	case <-time.After(5 * time.Second):
		t.Fatal("no monitor report in real time")
	}
}

func TestWorkerBoundsDeadLetterErrorText(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	q := core.NewQueue(b, "long-errors")
	publishN(t, b, q.Name(), 1)
	long := strings.Repeat("é", core.MaxErrorBytes) // two bytes each
	w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Fail(errors.New(long))
	}), core.WithLogger(quiet))
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed", 5*time.Second, func() bool { return w.Stats().Error == 1 })
	stop(t, w)
	dead, err := q.DeadLetters(context.Background(), 0, 1)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %v %v", dead, err)
	}
	if e := dead[0].Error; len(e) > core.MaxErrorBytes || len(e) < core.MaxErrorBytes-1 || !utf8.ValidString(e) {
		t.Fatalf("kept %d bytes (valid UTF-8: %v), want the first %d bytes cut at a character", len(e), utf8.ValidString(e), core.MaxErrorBytes)
	}
}

// counting records the sizes of the batches a worker asks for and gets.
type counting struct {
	core.Backend
	mu       sync.Mutex
	calls    int
	maxAsked int
	got      int
}

func (c *counting) Dequeue(ctx context.Context, p core.DequeueParams) (core.DequeueResult, error) {
	res, err := c.Backend.Dequeue(ctx, p)
	c.mu.Lock()
	c.calls++
	c.maxAsked = maxInt(c.maxAsked, p.Max)
	c.got += len(res.Messages)
	c.mu.Unlock()
	return res, err
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Fast handlers: the worker holds messages beyond its ten handlers, so
// dequeues carry far more than ten messages each.
func TestWorkerPrefetchKeepsBatchesFull(t *testing.T) {
	t.Parallel()
	run := func(opts ...core.WorkerOption) (calls, got int) {
		c := &counting{Backend: newMem(t)}
		q := core.NewQueue(c, "prefetch")
		publishN(t, c, q.Name(), 3000)
		w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() }),
			append([]core.WorkerOption{core.WithConcurrency(10), core.WithLogger(quiet)}, opts...)...)
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "all handled", 10*time.Second, func() bool { return w.Stats().Success == 3000 })
		stop(t, w)
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.calls, c.got
	}
	calls, got := run()
	if got != 3000 || got/calls < 25 {
		t.Errorf("with prefetch: %d dequeues took %d messages (%d per call), want at least 25 per call", calls, got, got/calls)
	}
	calls, got = run(core.WithPrefetch(0))
	if got != 3000 || got/calls > 10 {
		t.Errorf("without prefetch: %d per call, want at most the 10 handlers", got/calls)
	}
}

// Slow handlers: a worker takes no more than it can start, so a second
// worker gets its share instead of waiting behind a hoard.
func TestWorkerSlowHandlersHoldNothingExtra(t *testing.T) {
	t.Parallel()
	c := &counting{Backend: newMem(t)}
	q := core.NewQueue(c, "slow")
	publishN(t, c, q.Name(), 6)
	var ws []*core.Worker
	for range 2 {
		w := newWorker(t, q, core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			time.Sleep(60 * time.Millisecond)
			return core.Success()
		}), core.WithConcurrency(1), core.WithLogger(quiet))
		if err := w.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	waitFor(t, "all handled", 5*time.Second, func() bool { return ws[0].Stats().Success+ws[1].Stats().Success == 6 })
	for _, w := range ws {
		stop(t, w)
	}
	if a, b := ws[0].Stats().Success, ws[1].Stats().Success; a < 2 || b < 2 {
		t.Errorf("shares %d and %d: one worker hoarded messages", a, b)
	}
	if c.maxAsked != 1 {
		t.Errorf("asked for up to %d messages with one slow handler, want 1", c.maxAsked)
	}
}
