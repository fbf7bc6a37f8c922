package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/syncbuf"
	"github.com/redghost/redghost/middleware"
)

// ledger is the outermost middleware of the scenario: it sees every
// handling with the backend's attempt count and the final answer.
type ledger struct {
	mu         sync.Mutex
	raw        map[string][]int       // backend attempts of each handling, per id
	seen       map[string][]int       // attempts the handler saw (after Retry), per id
	final      map[string]core.Result // the success or error that ended each id
	dups       []string               // ids that ended twice
	rejections int
}

func newLedger() *ledger {
	return &ledger{raw: map[string][]int{}, seen: map[string][]int{}, final: map[string]core.Result{}}
}

func (l *ledger) middleware(next core.Handler) core.Handler {
	return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		res := next.Handle(ctx, m)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.raw[m.ID] = append(l.raw[m.ID], m.Attempt)
		if errors.Is(res.Err, middleware.ErrBreakerOpen) {
			l.rejections++
		}
		if res.Outcome != core.OutcomeRetry {
			if _, ok := l.final[m.ID]; ok {
				l.dups = append(l.dups, m.ID)
			}
			l.final[m.ID] = res
		}
		return res
	})
}

func (l *ledger) see(m *core.Message) {
	l.mu.Lock()
	l.seen[m.ID] = append(l.seen[m.ID], m.Attempt)
	l.mu.Unlock()
}

// ended counts the ids with a final answer whose id has prefix.
func (l *ledger) ended(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id := range l.final {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

// scenarioApp is the handler: a poison message that panics every time, a
// message whose first handling hangs ignoring its context, and messages
// that need a dependency that can be down (it then hangs until the
// handler's deadline, honouring it).
type scenarioApp struct {
	ledger  *ledger
	depDown atomic.Bool
	hung    atomic.Bool
	release chan struct{} // lets the hung handling return
}

func (a *scenarioApp) Handle(ctx context.Context, m *core.Message) core.Result {
	a.ledger.see(m)
	switch {
	case m.ID == "poison":
		panic("cannot digest " + string(m.Payload))
	case m.ID == "hang" && a.hung.CompareAndSwap(false, true):
		<-a.release // ignores ctx
		return core.Fail(errors.New("late answer of the hung handling"))
	case strings.HasPrefix(m.ID, "dep-") && a.depDown.Load():
		<-ctx.Done()
		return core.RetryErr(0, context.Cause(ctx))
	}
	return core.Success()
}

// Scenario settings: short, so the whole run takes about a second.
const (
	scTimeout     = 80 * time.Millisecond
	scOpen        = 150 * time.Millisecond
	scMaxAttempts = 4
	scOpens       = 3 // the dependency recovers when the breaker opened this often
)

// runFullChain drives the recommended chain on a worker of b and counts
// every message in and out:
//
//  1. a poison message ends in the dead-letter list with its payload
//     intact while 50 others flow; a handling that hangs past its timeout
//     is retried and handled once it behaves, and its late answer changes
//     nothing;
//  2. a dependency that hangs opens the breaker; messages wait without
//     losing attempts (fewer than scMaxAttempts real attempts each, more
//     backend attempts than that for some); the breaker closes when the
//     dependency recovers and every message is handled.
func runFullChain(t *testing.T, b core.Backend, queue string) {
	ctx := context.Background()
	q := core.NewQueue(b, queue)
	led := newLedger()
	app := &scenarioApp{ledger: led, release: make(chan struct{})}
	var releaseOnce sync.Once
	releaseHung := func() { releaseOnce.Do(func() { close(app.release) }) }
	defer releaseHung()

	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var (
		mu     sync.Mutex
		states []string
		opens  int
	)
	late := make(chan core.Result, 1)
	h := middleware.Chain(
		led.middleware,
		middleware.Logging(logger),
		middleware.Recover(middleware.WithRecoverLogger(logger)),
		mustRetry(t, middleware.WithRetryMaxAttempts(scMaxAttempts), middleware.WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond)),
		breaker(t,
			middleware.WithBreakerName("dependency"),
			middleware.WithBreakerOpenTimeout(scOpen),
			middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 3 }),
			middleware.WithBreakerOnStateChange(func(name string, from, to middleware.BreakerState) {
				mu.Lock()
				defer mu.Unlock()
				states = append(states, from.String()+"->"+to.String())
				if to == middleware.BreakerOpen {
					if opens++; opens == scOpens {
						app.depDown.Store(false) // the dependency recovers
					}
				}
			}),
		),
		mustTimeout(t, scTimeout, middleware.WithTimeoutOnLateResult(func(m *core.Message, r core.Result) {
			// Only the hung handling's: a dependency handling abandoned on a
			// loaded machine answers late too, and must not block here.
			if m.ID == "hang" {
				late <- r
			}
		})),
	)(app)

	w := mustWorker(t, q, h, core.WithConcurrency(4), core.WithMaxWait(50*time.Millisecond), core.WithLogger(quietLogger))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		releaseHung()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()

	pub := core.NewPublisher(b)
	publish := func(id, payload string) {
		t.Helper()
		if _, err := pub.Enqueue(ctx, queue, []byte(payload), core.WithID(id)); err != nil {
			t.Fatalf("enqueue %s: %v", id, err)
		}
	}

	// Phase 1: poison and a hanging handling among healthy messages.
	publish("poison", `{"user":13,"body":"\u0000 not for you"}`)
	publish("hang", `{"user":1}`)
	for i := range 50 {
		publish(fmt.Sprintf("ok-%02d", i), fmt.Sprintf(`{"user":%d}`, i))
	}
	waitFor(t, "phase 1", 20*time.Second, func() bool { return led.ended("") == 52 })
	// Timeout hands the handler off, so the middleware outside it (Logging
	// here) saw the abandoned handling's retry at the deadline, before the
	// message was handled again, while the first handler still hangs.
	if !strings.Contains(logs.String(), "timed out") {
		t.Errorf("no timeout in the logs while the hung handler still hangs:\n%s", logs.String())
	}
	releaseHung()
	if r := within(t, 5*time.Second, late, "the hung handling's late answer"); r.Outcome != core.OutcomeError {
		t.Errorf("late answer %v", r)
	}

	dead, err := q.DeadLetters(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != "poison" {
		t.Fatalf("dead letters %+v, want the poison message only", dead)
	}
	if d := dead[0]; string(d.Payload) != `{"user":13,"body":"\u0000 not for you"}` || !strings.Contains(d.Error, "panicked") || d.Attempt != 1 {
		t.Fatalf("poison dead letter %+v", d)
	}
	led.mu.Lock()
	hangRes, hangSeen := led.final["hang"], led.seen["hang"]
	led.mu.Unlock()
	if hangRes.Outcome != core.OutcomeSuccess || len(hangSeen) != 2 {
		t.Fatalf("hang: final %v after handlings %v, want success on the second", hangRes, hangSeen)
	}
	if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "timed out") {
		t.Errorf("logs lack the panic or the timeout:\n%s", logs.String())
	}

	// Phase 2: the dependency is down until the breaker opened scOpens times.
	app.depDown.Store(true)
	const deps = 20
	for i := range deps {
		publish(fmt.Sprintf("dep-%02d", i), fmt.Sprintf(`{"user":%d}`, 100+i))
	}
	waitFor(t, "phase 2", 30*time.Second, func() bool { return led.ended("dep-") == deps })

	mu.Lock()
	gotStates := strings.Join(states, " ")
	mu.Unlock()
	if !strings.HasSuffix(gotStates, "half-open->closed") || strings.Count(gotStates, "->open") != scOpens {
		t.Fatalf("breaker states %q, want %d opens and closed at the end", gotStates, scOpens)
	}

	led.mu.Lock()
	maxRaw := 0
	for i := range deps {
		id := fmt.Sprintf("dep-%02d", i)
		if r := led.final[id]; r.Outcome != core.OutcomeSuccess {
			t.Errorf("%s ended with %v", id, r)
		}
		seen := led.seen[id]
		for k, a := range seen { // real attempts, counted without rejections
			if a != k+1 {
				t.Errorf("%s: handler saw attempts %v, want 1, 2, ...", id, seen)
				break
			}
		}
		raw := led.raw[id]
		maxRaw = max(maxRaw, raw[len(raw)-1])
	}
	rejections, dups := led.rejections, led.dups
	led.mu.Unlock()
	if maxRaw <= scMaxAttempts {
		t.Errorf("no message was rejected past %d backend attempts (max %d): the test did not show attempts are kept", scMaxAttempts, maxRaw)
	}
	if rejections < deps {
		t.Errorf("%d rejections while open, want at least one per message", rejections)
	}
	t.Logf("breaker %s; %d rejections; highest backend attempt %d with at most %d real", gotStates, rejections, maxRaw, scMaxAttempts)

	// Every message in is out exactly once: handled, or dead-lettered.
	if len(dups) > 0 {
		t.Fatalf("ended twice: %v", dups)
	}
	in, out := 52+deps, 0
	led.mu.Lock()
	for _, r := range led.final {
		out++
		if r.Outcome == core.OutcomeError {
			in-- // counted below as a dead letter
		}
	}
	led.mu.Unlock()
	dead, err = q.DeadLetters(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if in+len(dead) != 52+deps || out != 52+deps || len(dead) != 1 {
		t.Fatalf("in %d: %d ended, %d dead letters", 52+deps, out, len(dead))
	}
	waitFor(t, "an empty queue", 5*time.Second, func() bool {
		st, err := q.Stats(ctx)
		return err == nil && st.Queued+st.Locked+st.Backoff == 0
	})
}

func TestFullChainInMemory(t *testing.T) {
	t.Parallel()
	runFullChain(t, mustMem(t), "full-chain")
}

var quietLogger = slog.New(slog.DiscardHandler)

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
