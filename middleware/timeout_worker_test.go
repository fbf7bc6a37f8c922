package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/middleware"
)

// Timeout under a real worker or pool: with WithTimeoutInline the handler
// runs on the worker's goroutine (no hand-off), and one that ignores its
// context is abandoned through core.Handling; without it, as anywhere.

// timeoutBackends are the backends the worker tests of Timeout run on: in
// memory, and Redis on a private server.
func timeoutBackends(t *testing.T) map[string]func(t *testing.T) core.Backend {
	return map[string]func(t *testing.T) core.Backend{
		"memqueue": func(t *testing.T) core.Backend { return mustMem(t) },
		"redisqueue": func(t *testing.T) core.Backend {
			srv := redistest.Start(t)
			b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix("timeout"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

// goid is the running goroutine's id, read from its stack's header
// ("goroutine 123 [running]:"); for tests only.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	id, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

// sameGoroutine is a pair of middleware around Timeout that checks that the
// handler runs on the goroutine that called Timeout.
type sameGoroutine struct {
	handled, handedOff atomic.Int64
}

func (s *sameGoroutine) wrap(timeout core.Middleware, h core.Handler) core.Handler {
	type key struct{}
	inner := func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			if ctx.Value(key{}).(uint64) != goid() {
				s.handedOff.Add(1)
			}
			s.handled.Add(1)
			return next.Handle(ctx, m)
		})
	}
	outer := func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			return next.Handle(context.WithValue(ctx, key{}, goid()), m)
		})
	}
	return middleware.Chain(outer, timeout, inner)(h)
}

// Under a worker or a pool, Timeout runs the handler on the caller's
// goroutine: no hand-off per message.
func TestTimeoutRunsTheHandlerOnTheWorkersGoroutine(t *testing.T) {
	t.Parallel()
	const n = 200
	for name, backend := range timeoutBackends(t) {
		for _, runner := range []string{"worker", "pool"} {
			t.Run(name+"/"+runner, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				b := backend(t)
				q := core.NewQueue(b, "same-goroutine")
				var s sameGoroutine
				h := s.wrap(mustTimeout(t, time.Minute, middleware.WithTimeoutInline()), handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("the handler's context has no deadline")
					}
					return core.Success()
				}))
				start, stop := startRunner(t, runner, q, h, core.WithConcurrency(4))
				pub := core.NewPublisher(b)
				for i := range n {
					if _, err := pub.Enqueue(ctx, q.Name(), []byte("x"), core.WithID(fmt.Sprint(i))); err != nil {
						t.Fatal(err)
					}
				}
				start()
				waitFor(t, "all handled", 20*time.Second, func() bool { return s.handled.Load() == n })
				stop()
				if k := s.handedOff.Load(); k != 0 {
					t.Fatalf("%d of %d handlers ran on another goroutine than Timeout's caller", k, n)
				}
			})
		}
	}
}

// startRunner makes a worker or a pool (runner) of q with h; start starts
// it, stop stops it within 10 s.
func startRunner(t *testing.T, runner string, q *core.Queue, h core.Handler, opts ...core.WorkerOption) (start, stop func()) {
	t.Helper()
	ctx := context.Background()
	var s interface {
		Start(context.Context) error
		Stop(context.Context) error
	}
	switch runner {
	case "worker":
		s = mustWorker(t, q, h, append([]core.WorkerOption{core.WithMaxWait(20 * time.Millisecond), core.WithLogger(quietLogger)}, opts...)...)
	case "pool":
		var popts []core.PoolOption
		for _, o := range opts {
			popts = append(popts, o)
		}
		p, err := core.NewPool(q.Backend(), append([]core.PoolOption{core.WithMaxWait(20 * time.Millisecond), core.WithLogger(quietLogger)}, popts...)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Handle(q.Name(), h); err != nil {
			t.Fatal(err)
		}
		s = p
	}
	var once sync.Once
	return func() {
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}, func() {
			once.Do(func() {
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if err := s.Stop(sctx); err != nil {
					t.Errorf("stop: %v", err)
				}
			})
		}
}

// A handler that ignores its context is abandoned at deadline + grace: the
// worker acknowledges a retry then, keeps its full concurrency for other
// messages meanwhile, handles the message again, and drops the late answer
// (which the late callback gets). Stop does not wait for the abandoned
// handler, and no message is lost.
func TestTimeoutAbandonsOnAWorker(t *testing.T) {
	t.Parallel()
	for name, backend := range timeoutBackends(t) {
		for _, runner := range []string{"worker", "pool"} {
			for _, own := range []bool{false, true} {
				for _, inline := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/%s/own-timeout=%v/inline=%v", name, runner, own, inline), func(t *testing.T) {
						t.Parallel()
						testAbandonOnAWorker(t, backend(t), runner, own, inline)
					})
				}
			}
		}
	}
}

func testAbandonOnAWorker(t *testing.T, b core.Backend, runner string, own, inline bool) {
	ctx := context.Background()
	q := core.NewQueue(b, "abandon")
	const d, grace = 60 * time.Millisecond, 20 * time.Millisecond
	release := make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	late := make(chan core.Result, 1)
	stuckAt := make(chan time.Time, 1)
	// The pair's handlers wait for each other: both run at once, so the
	// worker's concurrency (2) is whole while the stuck handler runs on.
	var inPair atomic.Int32
	together := make(chan struct{})
	var togetherOnce sync.Once
	var (
		mu   sync.Mutex
		seen []string
	)
	timeout := d
	if own {
		timeout = time.Minute // the stuck message brings its own d
	}
	var s sameGoroutine
	opts := []middleware.TimeoutOption{
		middleware.WithTimeoutGrace(grace),
		middleware.WithTimeoutOnLateResult(func(_ *core.Message, r core.Result) { late <- r }),
	}
	if inline {
		opts = append(opts, middleware.WithTimeoutInline())
	}
	h := s.wrap(mustTimeout(t, timeout, opts...), handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s/%d", m.ID, m.Attempt))
		mu.Unlock()
		switch {
		case m.ID == "stuck" && m.Attempt == 1:
			stuckAt <- time.Now()
			<-release // ignores ctx
			if !errors.Is(context.Cause(ctx), middleware.ErrTimeout) {
				t.Errorf("the stuck handler's cause is %v, want ErrTimeout", context.Cause(ctx))
			}
			return core.Fail(errors.New("late answer"))
		case m.ID == "pair-a" || m.ID == "pair-b":
			defer inPair.Add(-1)
			if inPair.Add(1) == 2 {
				togetherOnce.Do(func() { close(together) })
			}
			select {
			case <-together:
			case <-ctx.Done(): // a slow machine: try again
				return core.RetryErr(0, context.Cause(ctx))
			}
		}
		return core.Success()
	}))
	start, stop := startRunner(t, runner, q, h, core.WithConcurrency(2), core.WithPrefetch(0))
	defer stop()
	pub := core.NewPublisher(b)
	publish := func(id string, opts ...core.EnqueueOption) {
		t.Helper()
		if _, err := pub.Enqueue(ctx, q.Name(), []byte(id), append(opts, core.WithID(id))...); err != nil {
			t.Fatal(err)
		}
	}
	if own {
		publish("stuck", core.WithHandlingTimeout(d))
	} else {
		publish("stuck")
	}
	start()
	began := within(t, 10*time.Second, stuckAt, "the stuck handler")

	// Abandoned with a retry, and handled again (a success) while the first
	// handler is still stuck.
	waitFor(t, "the stuck message handled again", 10*time.Second, func() bool {
		st, err := q.MessageStatus(ctx, "stuck")
		return err == nil && st == core.StatusNone
	})
	if took := time.Since(began); took < d+grace {
		t.Fatalf("abandoned after %s, before deadline + grace (%s)", took, d+grace)
	}
	publish("pair-a")
	publish("pair-b")
	within(t, 10*time.Second, together, "the pair handled together")
	waitFor(t, "the pair handled", 10*time.Second, func() bool {
		a, err1 := q.MessageStatus(ctx, "pair-a")
		b, err2 := q.MessageStatus(ctx, "pair-b")
		return err1 == nil && err2 == nil && a == core.StatusNone && b == core.StatusNone
	})
	mu.Lock()
	if fmt.Sprint(seen[:2]) != "[stuck/1 stuck/2]" {
		t.Errorf("handlings %v, want the stuck message twice first", seen)
	}
	mu.Unlock()

	// Stop returns without waiting for the stuck handler.
	stopped := time.Now()
	stop()
	if took := time.Since(stopped); took > 5*time.Second {
		t.Fatalf("Stop took %s with an abandoned handler", took)
	}
	select {
	case r := <-late:
		t.Fatalf("late answer %v before the handler returned", r)
	default:
	}
	releaseOnce.Do(func() { close(release) })
	if r := within(t, 5*time.Second, late, "the late answer"); r.Outcome != core.OutcomeError {
		t.Fatalf("late answer %v, want the handler's failure", r)
	}

	// Nothing lost, nothing dead-lettered: the late failure was dropped.
	st, err := q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queued+st.Locked+st.Backoff != 0 || st.Dead != 0 {
		t.Fatalf("queue after stop: %+v, want empty with no dead letters", st)
	}
	if k := s.handedOff.Load(); inline && k != 0 {
		t.Fatalf("%d handlers ran on another goroutine than Timeout's caller", k)
	} else if !inline && k == 0 {
		t.Fatal("no handler ran on another goroutine than Timeout's caller without WithTimeoutInline")
	}
}

// The bound on abandoned handlers holds under a worker: at the bound a
// handler past its grace is waited for, and new messages are answered with
// a retry without starting their handler.
func TestTimeoutBoundOnAWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := mustMem(t)
	q := core.NewQueue(b, "bound")
	release1, release2 := make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	late := make(chan core.Result, 1)
	started := make(chan string, 10)
	var abandoned []core.Result
	var mu sync.Mutex
	record := func(next core.Handler) core.Handler {
		return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			res := next.Handle(ctx, m)
			mu.Lock()
			abandoned = append(abandoned, res)
			mu.Unlock()
			return res
		})
	}
	const d = 100 * time.Millisecond
	h := middleware.Chain(record, mustTimeout(t, d,
		middleware.WithTimeoutGrace(d),
		middleware.WithTimeoutBackoff(time.Hour),
		middleware.WithTimeoutMaxAbandoned(1),
		middleware.WithTimeoutOnLateResult(func(_ *core.Message, r core.Result) { late <- r }),
		middleware.WithTimeoutInline(),
	))(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		started <- m.ID
		switch m.ID {
		case "s1":
			<-release1 // ignores ctx
		case "s2":
			<-release2 // ignores ctx
		default:
			return core.Success()
		}
		return core.Fail(errors.New("late " + m.ID))
	}))
	w := mustWorker(t, q, h, core.WithConcurrency(3), core.WithPrefetch(0), core.WithMaxWait(20*time.Millisecond), core.WithLogger(quietLogger))
	pub := core.NewPublisher(b)
	publish := func(id string) {
		t.Helper()
		if _, err := pub.Enqueue(ctx, q.Name(), []byte(id), core.WithID(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Both stuck handlers start at once: the first past its grace is
	// abandoned, which reaches the bound; the other is waited for.
	publish("s1")
	publish("s2")
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	releaseS1 := func() { once1.Do(func() { close(release1) }) }
	releaseS2 := func() { once2.Do(func() { close(release2) }) }
	defer func() {
		releaseS1()
		releaseS2()
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	within(t, 5*time.Second, started, "a stuck handler")
	within(t, 5*time.Second, started, "the other stuck handler")
	waitFor(t, "one abandoned", 5*time.Second, func() bool { return w.Stats().Retry == 1 })
	time.Sleep(3 * d) // past both deadlines and graces
	if st := w.Stats(); st.Retry != 1 {
		t.Fatalf("%d retries with both stuck handlers past their grace, want one waited for (bound 1)", st.Retry)
	}
	gone, waited := releaseS1, releaseS2 // s1 abandoned, s2 waited for
	if st, err := q.MessageStatus(ctx, "s2"); err != nil {
		t.Fatal(err)
	} else if st == core.StatusQueuedWithBackoff {
		gone, waited = releaseS2, releaseS1
	}
	publish("n1")
	waitFor(t, "n1 answered at the bound", 5*time.Second, func() bool { return w.Stats().Retry == 2 })
	select {
	case id := <-started:
		t.Fatalf("%s started at the bound", id)
	default:
	}

	waited() // it answers a failure, late: a timeout retry
	waitFor(t, "the waited handler answered", 5*time.Second, func() bool { return w.Stats().Retry == 3 })
	if st := w.Stats(); st.Error != 0 {
		t.Fatalf("%d errors, want the late failure turned into a retry", st.Error)
	}
	gone()
	if r := within(t, 5*time.Second, late, "the abandoned handler's late answer"); r.Outcome != core.OutcomeError {
		t.Fatalf("late answer %v", r)
	}
	publish("n2") // below the bound again: started
	if id := within(t, 5*time.Second, started, "n2"); id != "n2" {
		t.Fatalf("started %s", id)
	}
	waitFor(t, "the middleware around Timeout to see the late answer", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(abandoned) == 4
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range abandoned {
		if r.Outcome != core.OutcomeSuccess && (r.Outcome != core.OutcomeRetry || !errors.Is(r.Err, middleware.ErrTimeout)) {
			t.Errorf("the middleware around Timeout saw %v, want n2's success and retries matching ErrTimeout", r)
		}
	}
}

// On a worker, the handler's context past Timeout's deadline answers as a
// context with a deadline, whether the handler waits on Done, polls Err or
// only reads context.Cause: Err is context.DeadlineExceeded, the cause
// ErrTimeout, and Deadline the deadline. A context it derives ends the
// same way, whether derived before the deadline or after it. On both
// paths: inline and handed off.
func TestTimeoutContextOnAWorker(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		how  string
		opts []middleware.TimeoutOption
	}{
		{"done", inlineOpt}, {"err", inlineOpt}, {"cause", inlineOpt}, {"derived", inlineOpt}, {"derived-late", inlineOpt},
		{"done", nil}, {"err", nil}, {"cause", nil}, {"derived", nil}, {"derived-late", nil},
	} {
		how := c.how
		name := how + "/inline"
		if c.opts == nil {
			name = how + "/hand-off"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := mustMem(t)
			q := core.NewQueue(b, "deadline")
			type seen struct {
				err, cause error
				left       time.Duration
				ok         bool
			}
			got := make(chan seen, 1)
			opts := append([]middleware.TimeoutOption{middleware.WithTimeoutGrace(time.Minute)}, c.opts...)
			h := mustTimeout(t, tick, opts...)(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
				dl, ok := ctx.Deadline()
				left := time.Until(dl)
				switch how {
				case "done", "err", "cause":
					awaitEnd(ctx, how)
				case "derived", "derived-late":
					if how == "derived-late" {
						awaitEnd(ctx, "err")
					}
					d, cancel := context.WithTimeout(ctx, time.Hour)
					defer cancel()
					<-d.Done()
					if !errors.Is(context.Cause(d), middleware.ErrTimeout) || d.Err() != context.DeadlineExceeded {
						t.Errorf("the derived context ended with %v (cause %v), want DeadlineExceeded and ErrTimeout", d.Err(), context.Cause(d))
					}
				}
				got <- seen{ctx.Err(), context.Cause(ctx), left, ok}
				return core.Fail(ctx.Err())
			}))
			if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x")); err != nil {
				t.Fatal(err)
			}
			w := runWorker(t, q, h)
			s := within(t, 5*time.Second, got, "the deadline")
			if !s.ok || s.left <= 0 || s.left > tick {
				t.Errorf("deadline %v in %s, want in at most %s", s.ok, s.left, tick)
			}
			if s.err != context.DeadlineExceeded || !errors.Is(s.cause, middleware.ErrTimeout) {
				t.Errorf("Err %v, cause %v; want DeadlineExceeded and ErrTimeout", s.err, s.cause)
			}
			// The late failure is a retry matching ErrTimeout.
			waitFor(t, "the retry", 5*time.Second, func() bool { return w.Stats().Retry == 1 })
		})
	}
}

// The worker's own cancellations reach a handler under Timeout with their
// cause, whether it waits on Done, polls Err, or only reads context.Cause:
// Queue.Cancel (told by the heartbeat) and the shutdown's, once Stop's
// deadline has passed.
func TestTimeoutPassesTheWorkersCancellation(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"done", "err", "cause"} {
		for _, by := range []string{"cancel", "shutdown"} {
			t.Run(how+"/"+by, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				b := mustMem(t)
				q := core.NewQueue(b, "cancel-"+how)
				started := make(chan struct{}, 1)
				causes := make(chan error, 1)
				h := mustTimeout(t, time.Minute, middleware.WithTimeoutInline())(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
					started <- struct{}{}
					awaitEnd(ctx, how)
					causes <- context.Cause(ctx)
					return core.RetryErr(0, context.Cause(ctx))
				}))
				if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x"), core.WithID("m")); err != nil {
					t.Fatal(err)
				}
				w := runWorker(t, q, h, core.WithHeartbeat(10*time.Millisecond), core.WithStopGrace(5*time.Second))
				within(t, 5*time.Second, started, "the handler")
				want := core.ErrCanceled
				if by == "cancel" {
					if _, err := q.Cancel(ctx, "m"); err != nil {
						t.Fatal(err)
					}
				} else {
					want = context.Canceled
					sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
					defer cancel()
					go func() { _ = w.Stop(sctx) }()
				}
				c := within(t, 5*time.Second, causes, "the cancellation")
				if !errors.Is(c, want) || errors.Is(c, middleware.ErrTimeout) {
					t.Fatalf("cause %v, want %v", c, want)
				}
			})
		}
	}
}

// The shutdown's cancellation stays the handler's even when the handler
// runs on past Timeout's deadline before it looks: a child context keeps
// its first cause.
func TestTimeoutKeepsTheShutdownsCauseOnAWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := mustMem(t)
	q := core.NewQueue(b, "shutdown-first")
	started := make(chan struct{}, 1)
	causes := make(chan error, 2)
	h := mustTimeout(t, 4*tick, middleware.WithTimeoutGrace(time.Minute), middleware.WithTimeoutInline())(handlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		started <- struct{}{}
		time.Sleep(8 * tick) // past the shutdown (at once) and the deadline
		causes <- context.Cause(ctx)
		causes <- ctx.Err()
		return core.RetryErr(0, context.Cause(ctx))
	}))
	w := mustWorker(t, q, h, core.WithMaxWait(20*time.Millisecond), core.WithStopGrace(5*time.Second), core.WithLogger(quietLogger))
	if _, err := core.NewPublisher(b).Enqueue(ctx, q.Name(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, started, "the handler")
	sctx, cancel := context.WithCancel(ctx)
	cancel() // the shutdown cancels the handlers at once
	if err := w.Stop(sctx); !errors.Is(err, context.Canceled) {
		t.Errorf("stop: %v", err)
	}
	if c, err := <-causes, <-causes; c != context.Canceled || err != context.Canceled {
		t.Fatalf("cause %v, Err %v; want the shutdown's (context.Canceled), not ErrTimeout", c, err)
	}
}

// inlineOpt is the option list of the inline path's cases.
var inlineOpt = []middleware.TimeoutOption{middleware.WithTimeoutInline()}

// runWorker starts a worker of q with h (polling every 20 ms, quiet, with
// opts) and stops it when the test ends.
func runWorker(t *testing.T, q *core.Queue, h core.Handler, opts ...core.WorkerOption) *core.Worker {
	t.Helper()
	ctx := context.Background()
	w := mustWorker(t, q, h, append([]core.WorkerOption{core.WithMaxWait(20 * time.Millisecond), core.WithLogger(quietLogger)}, opts...)...)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return w
}

// awaitEnd returns once ctx has ended, as a handler may find out: by
// waiting on Done ("done"), by polling Err ("err"), or by polling
// context.Cause alone ("cause").
func awaitEnd(ctx context.Context, how string) {
	switch how {
	case "done":
		<-ctx.Done()
	case "err":
		for ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
	case "cause":
		for context.Cause(ctx) == nil {
			time.Sleep(time.Millisecond)
		}
	}
}
