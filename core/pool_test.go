package core_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// newPool is core.NewPool for options a test knows are valid.
func newPool(t testing.TB, b core.Backend, opts ...core.PoolOption) *core.Pool {
	t.Helper()
	p, err := core.NewPool(b, append([]core.PoolOption{core.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// journal records which queue each handled message came from, in the
// order handlers started on them.
type journal struct {
	mu     sync.Mutex
	queues []string
}

func (j *journal) handler(delay time.Duration) core.Handler {
	return core.HandlerFunc(func(_ context.Context, m *core.Message) core.Result {
		j.mu.Lock()
		j.queues = append(j.queues, m.Queue)
		j.mu.Unlock()
		if delay > 0 {
			time.Sleep(delay)
		}
		return core.Success()
	})
}

func (j *journal) snapshot() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.queues)
}

func (j *journal) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.queues)
}

func stopPool(t *testing.T, p *core.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// Every message of every queue is handled once, by its queue's handler,
// and counted in that queue's statistics.
func TestPoolHandlesEveryQueue(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		p := newPool(t, env.b, core.WithConcurrency(4))
		var mu sync.Mutex
		seen := make(map[string]int)
		for _, name := range []string{"a", "b", "c"} {
			err := p.HandleFunc(name, func(_ context.Context, m *core.Message) core.Result {
				if m.Queue != name {
					t.Errorf("handler of %q got a message of %q", name, m.Queue)
				}
				mu.Lock()
				seen[m.Queue+"/"+m.ID]++
				mu.Unlock()
				return core.Success()
			})
			if err != nil {
				t.Fatal(err)
			}
			publishN(t, env.b, name, 50)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "150 messages", 10*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == 150
		})
		stopPool(t, p)
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s handled %d times", k, n)
			}
		}
		st := p.Stats()
		for _, name := range []string{"a", "b", "c"} {
			if s := st[name]; s.Success != 50 || s.InFlight != 0 {
				t.Errorf("stats of %q: success %d, in flight %d; want 50 and 0", name, s.Success, s.InFlight)
			}
			if qs, err := env.inspect.QueueStats(context.Background(), name); err != nil || qs.Total != 0 && qs.Total != qs.Done {
				t.Errorf("queue %q after the pool: %+v, %v", name, qs, err)
			}
		}
	})
}

// With a backlog in three queues of priorities 3, 2 and 1, the handled
// shares are within 10 % of 50, 33 and 17 % for as long as all three
// have work.
func TestPoolWeightedShares(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []core.PoolOption
		work time.Duration
	}{
		{"fast handlers, prefetch", []core.PoolOption{core.WithConcurrency(6)}, 500 * time.Microsecond},
		{"slow handlers, no prefetch", []core.PoolOption{core.WithConcurrency(4), core.WithPrefetch(0)}, 2 * time.Millisecond},
		{"one handler", []core.PoolOption{core.WithConcurrency(1)}, 200 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onBackends(t, func(t *testing.T, env backendEnv) { testWeightedShares(t, env, tc.opts, tc.work) })
		})
	}
}

// drainBacklogs makes a pool with opts that handles each queue of prio at
// its priority, with handlers that take work each, puts backlog messages
// in every queue, and runs the pool until all are handled. It answers the
// queues of the messages in the order the handlers recorded them.
func drainBacklogs(t *testing.T, env backendEnv, opts []core.PoolOption, prio map[string]int, backlog int, work time.Duration) []string {
	t.Helper()
	p := newPool(t, env.b, opts...)
	j := &journal{}
	for name, n := range prio {
		if err := p.Handle(name, j.handler(work), core.WithPriority(n)); err != nil {
			t.Fatal(err)
		}
		publishN(t, env.b, name, backlog)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message", 30*time.Second, func() bool { return j.count() >= len(prio)*backlog })
	stopPool(t, p)
	return j.snapshot()
}

func testWeightedShares(t *testing.T, env backendEnv, opts []core.PoolOption, work time.Duration) {
	const backlog = 300
	prio := map[string]int{"w3": 3, "w2": 2, "w1": 1}
	order := drainBacklogs(t, env, opts, prio, backlog, work)

	// The window: until one queue has had 90 % of its backlog handled,
	// while all three still hold messages.
	counts := make(map[string]int)
	window := 0
	for _, q := range order {
		counts[q]++
		window++
		if counts[q] >= backlog*9/10 {
			break
		}
	}
	for name, n := range prio {
		want := float64(n) / 6
		got := float64(counts[name]) / float64(window)
		if got < want*0.9 || got > want*1.1 {
			t.Errorf("queue %s (priority %d): %.1f %% of the %d handled, want %.1f %% ± 10 %%", name, n, 100*got, window, 100*want)
		}
	}
	t.Logf("shares over the first %d handled: w3 %.1f %%, w2 %.1f %%, w1 %.1f %%", window,
		100*float64(counts["w3"])/float64(window), 100*float64(counts["w2"])/float64(window), 100*float64(counts["w1"])/float64(window))
}

// In strict mode no message of a lower queue is started while a higher
// one has work.
func TestPoolStrictPriority(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		prio := map[string]int{"high": 3, "mid": 2, "low": 1}
		order := drainBacklogs(t, env, []core.PoolOption{core.WithConcurrency(4), core.WithStrictPriority()}, prio, 150, 0)
		// A handler records its message a moment after the pool handed it
		// over, so the ones the other handlers were given before may come
		// after; there are at most concurrency-1 of them.
		for _, pair := range [][2]string{{"high", "mid"}, {"mid", "low"}, {"high", "low"}} {
			first := slices.Index(order, pair[1])
			late := 0
			for _, q := range order[first:] {
				if q == pair[0] {
					late++
				}
			}
			if first < 0 || late > 3 {
				t.Fatalf("strict order broken: %d messages of %s started after the first of %s (at %d)", late, pair[0], pair[1], first)
			}
		}
	})
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// A queue's cap bounds its handlers; the others use the rest.
func TestPoolQueueConcurrencyCap(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		p := newPool(t, env.b, core.WithConcurrency(4))
		var running, peak, other atomic.Int64
		capped := core.HandlerFunc(func(context.Context, *core.Message) core.Result {
			n := running.Add(1)
			for {
				m := peak.Load()
				if n <= m || peak.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			return core.Success()
		})
		if err := p.Handle("capped", capped, core.WithQueueConcurrency(1), core.WithPriority(10)); err != nil {
			t.Fatal(err)
		}
		if err := p.HandleFunc("free", func(context.Context, *core.Message) core.Result {
			other.Add(1)
			time.Sleep(2 * time.Millisecond)
			return core.Success()
		}); err != nil {
			t.Fatal(err)
		}
		publishN(t, env.b, "capped", 40)
		publishN(t, env.b, "free", 40)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every message", 20*time.Second, func() bool {
			st := p.Stats()
			return st["capped"].Success == 40 && st["free"].Success == 40
		})
		stopPool(t, p)
		if peak.Load() != 1 {
			t.Fatalf("a queue capped at 1 ran %d handlers at once", peak.Load())
		}
	})
}

// Queues come and go while the pool runs: an added queue is served, a
// removed one is drained (Remove waits for its handlers) and then left
// alone, and may be added again.
func TestPoolAddRemoveWhileRunning(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		p := newPool(t, env.b, core.WithConcurrency(3))
		release := make(chan struct{})
		started := make(chan string, 10)
		var handledA atomic.Int64
		if err := p.HandleFunc("a", func(_ context.Context, m *core.Message) core.Result {
			started <- m.ID
			<-release
			handledA.Add(1)
			return core.Success()
		}); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stopPool(t, p)
		publishN(t, env.b, "a", 1)
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("queue a not served")
		}

		// Added while running.
		j := &journal{}
		if err := p.Handle("b", j.handler(0)); err != nil {
			t.Fatal(err)
		}
		publishN(t, env.b, "b", 5)
		waitFor(t, "queue b", 5*time.Second, func() bool { return j.count() == 5 })
		if got := p.Queues(); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("Queues: %q", got)
		}

		// Removed while its handler runs: Remove waits for it.
		removed := make(chan error, 1)
		go func() { removed <- p.Remove(ctx, "a") }()
		select {
		case err := <-removed:
			t.Fatalf("Remove returned (%v) while the queue's handler ran", err)
		case <-time.After(100 * time.Millisecond):
		}
		close(release)
		select {
		case err := <-removed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Remove did not return once the handler had")
		}
		if handledA.Load() != 1 {
			t.Fatalf("queue a handled %d messages, want 1", handledA.Load())
		}
		if st, err := env.inspect.MessageStatus(ctx, "a", "m00000"); err != nil || st != core.StatusDoneAwaitingGC && st != core.StatusNone {
			t.Fatalf("the removed queue's message after Remove: %v, %v; want acknowledged", st, err)
		}
		// No longer served.
		publishN(t, env.b, "a", 1)
		time.Sleep(200 * time.Millisecond)
		if handledA.Load() != 1 {
			t.Fatal("a removed queue is still served")
		}
		if _, ok := p.Stats()["a"]; ok {
			t.Fatal("Stats still lists a removed queue")
		}
		// Added again: served again.
		again := &journal{}
		if err := p.Handle("a", again.handler(0)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "queue a again", 5*time.Second, func() bool { return again.count() == 1 })
	})
}

// countingHandler counts its messages; the padding keeps it out of the
// runtime's tiny allocations, whose cleanups may never run.
type countingHandler struct {
	n atomic.Int64
	_ [32]byte
}

func (h *countingHandler) Handle(context.Context, *core.Message) core.Result {
	h.n.Add(1)
	return core.Success()
}

// A queue removed from a running pool is let go once Remove has returned:
// nothing the pool keeps holds its handler, or the rest of its state,
// until the pool stops.
func TestPoolRemovedQueueIsReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := newMem(t)
	// The fetcher's wait, a max wait at most, may still hold the queue
	// when Remove returns.
	p := newPool(t, b, core.WithConcurrency(4), core.WithMaxWait(50*time.Millisecond))
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer stopPool(t, p)
	var released atomic.Bool
	func() {
		h := &countingHandler{}
		runtime.AddCleanup(h, func(r *atomic.Bool) { r.Store(true) }, &released)
		if err := p.Handle("gone", h); err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "gone", 8)
		waitFor(t, "the removed queue's messages", 5*time.Second, func() bool { return h.n.Load() == 8 })
	}()
	if err := p.Remove(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removed queue's handler to be collected", 5*time.Second, func() bool {
		runtime.GC()
		return released.Load()
	})
}

// Bad configuration is an InvalidError naming the option; calls on a
// stopped pool answer ErrClosed.
func TestPoolInvalid(t *testing.T) {
	b := newMem(t)
	if _, err := core.NewPool(nil); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("NewPool(nil): %v", err)
	}
	for _, tc := range []struct {
		opt   core.PoolOption
		field string
	}{
		{core.WithConcurrency(0), "WithConcurrency"},
		{core.WithMaxWait(-time.Second), "WithMaxWait"},
		{nil, "options"},
	} {
		_, err := core.NewPool(b, tc.opt)
		var ie *core.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("NewPool with a bad %s: %v", tc.field, err)
		}
	}
	p := newPool(t, b)
	h := core.HandlerFunc(func(context.Context, *core.Message) core.Result { return core.Success() })
	if err := p.Handle("q", h); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what  string
		err   error
		field string
	}{
		{"a braced name", p.Handle("a{b", h), "queue"},
		{"a nil handler", p.Handle("r", nil), "handler"},
		{"a queue twice", p.Handle("q", h), "queue"},
		{"priority 0", p.Handle("r", h, core.WithPriority(0)), "WithPriority"},
		{"priority over the maximum", p.Handle("r", h, core.WithPriority(core.MaxPriority+1)), "WithPriority"},
		{"a cap of 0", p.Handle("r", h, core.WithQueueConcurrency(0)), "WithQueueConcurrency"},
		{"an unknown queue", p.Remove(context.Background(), "nope"), "queue"},
	} {
		var ie *core.InvalidError
		if !errors.As(tc.err, &ie) || ie.Field != tc.field {
			t.Errorf("%s: %v, want an InvalidError about %s", tc.what, tc.err, tc.field)
		}
	}
	if got := p.Queues(); !slices.Equal(got, []string{"q"}) {
		t.Fatalf("refused calls changed the queues: %q", got)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, core.ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	stopPool(t, p)
	if err := p.Handle("r", h); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Handle after Stop: %v", err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Start after Stop: %v", err)
	}
}

// A delayed message on an idle pool is handled when it comes due, on the
// backend's clock (memqueue: a manual clock moved by hand), without
// waiting for a wake, and a retry with a backoff likewise.
func TestPoolDelayedAndRetriedMessagesComeDue(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := context.Background()
		const delay = 400 * time.Millisecond
		p := newPool(t, env.b, core.WithMaxWait(time.Hour)) // only a due time or a wake ends a wait
		var attempts sync.Map
		handled := make(chan string, 10)
		for _, name := range []string{"idle1", "delayed", "idle2"} {
			if err := p.HandleFunc(name, func(_ context.Context, m *core.Message) core.Result {
				n, _ := attempts.LoadOrStore(m.ID, new(atomic.Int64))
				if n.(*atomic.Int64).Add(1) == 1 && m.ID == "retried" {
					return core.Retry(delay)
				}
				handled <- m.ID
				return core.Success()
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer stopPool(t, p)
		time.Sleep(100 * time.Millisecond) // idle, waiting
		if _, err := core.NewPublisher(env.b).Enqueue(ctx, "delayed", []byte("x"), core.WithID("later"), core.WithDelay(delay)); err != nil {
			t.Fatal(err)
		}
		if _, err := core.NewPublisher(env.b).Enqueue(ctx, "delayed", []byte("x"), core.WithID("retried")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the enqueues' wake read; "retried" answered a retry
		select {
		case id := <-handled:
			t.Fatalf("%s handled before its due time", id)
		default:
		}
		env.pass(delay)
		got := map[string]bool{}
		for len(got) < 2 {
			select {
			case id := <-handled:
				got[id] = true
			case <-time.After(3 * time.Second):
				t.Fatalf("due messages not handled within 3s of their due time; handled %v", got)
			}
		}
	})
}

// plainBackend hides every optional interface of its backend.
type plainBackend struct{ core.Backend }

// On a backend that cannot wait on many queues at once, an idle pool
// looks at every queue once per max wait: new work is picked up all the
// same.
func TestPoolWithoutMultiWaiter(t *testing.T) {
	t.Parallel()
	b := plainBackend{newMem(t)}
	p := newPool(t, b, core.WithMaxWait(50*time.Millisecond))
	j := &journal{}
	for _, name := range []string{"a", "b", "c"} {
		if err := p.Handle(name, j.handler(0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stopPool(t, p)
	time.Sleep(100 * time.Millisecond) // idle
	publishN(t, b, "c", 3)
	publishN(t, b, "a", 2)
	waitFor(t, "5 messages", 5*time.Second, func() bool { return j.count() == 5 })
}

// A handler that panics fails its message, as on a Worker: the pool goes
// on, the message is a dead letter with the panic's text, and the queue
// counts an error.
func TestPoolHandlerPanicIsAnError(t *testing.T) {
	t.Parallel()
	b := newMem(t)
	p := newPool(t, b)
	if err := p.HandleFunc("boom", func(context.Context, *core.Message) core.Result { panic("kaput") }); err != nil {
		t.Fatal(err)
	}
	j := &journal{}
	if err := p.Handle("fine", j.handler(0)); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, "boom", 1)
	publishN(t, b, "fine", 1)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both messages", 5*time.Second, func() bool {
		return p.Stats()["boom"].Error == 1 && j.count() == 1 && p.Stats()["boom"].InFlight == 0
	})
	stopPool(t, p)
	dead, err := b.DeadLetters(context.Background(), "boom", 0, 10)
	if err != nil || len(dead) != 1 || !strings.Contains(dead[0].Error, "kaput") {
		t.Fatalf("dead letters of the panicking queue: %+v, %v", dead, err)
	}
}

// A Remove whose deadline passes cancels the queue's handlers and answers
// its error; the messages the pool still held of the queue are handled on
// the cancelled context (here: answered with a retry), the queue leaves
// the pool once drained, and Stop is not held up.
func TestPoolRemoveDeadline(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		p := newPool(t, env.b, core.WithConcurrency(1), core.WithStopGrace(50*time.Millisecond))
		release := make(chan struct{})
		var n, retried atomic.Int64
		if err := p.HandleFunc("r", func(ctx context.Context, m *core.Message) core.Result {
			if ctx.Err() != nil {
				retried.Add(1)
				return core.Retry(0)
			}
			if n.Add(1) == 5 {
				<-release // deaf to its context
			}
			return core.Success()
		}); err != nil {
			t.Fatal(err)
		}
		publishN(t, env.b, "r", 20)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the fifth message", 5*time.Second, func() bool { return n.Load() == 5 })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := p.Remove(ctx, "r"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Remove past its deadline: %v", err)
		}
		if err := p.Handle("r", j0()); err == nil {
			t.Fatal("a queue still draining was added again")
		}
		close(release)
		waitFor(t, "the queue to drain", 5*time.Second, func() bool { return len(p.Queues()) == 0 && len(p.Stats()) == 0 })
		stopPool(t, p)
		st, err := env.inspect.QueueStats(context.Background(), "r")
		if err != nil || st.Locked != 0 {
			t.Fatalf("after the removal and Stop: %+v, %v; want nothing locked", st, err)
		}
		t.Logf("handled %d, retried on the cancelled context %d", n.Load(), retried.Load())
	})
}

func j0() core.Handler { return (&journal{}).handler(0) }
