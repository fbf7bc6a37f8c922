package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// scriptHook counts the enqueue script's calls and can hold them.
type scriptHook struct {
	calls atomic.Int64
	// hold, when set, is called on every enqueue script call (numbered
	// from 1) before it is sent; it may block.
	hold func(n int64)
}

func (h *scriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) > 1 && (args[1] == scriptEnqueue.Hash() || cmd.Name() == "eval" && args[1] == scriptEnqueueSrc) {
			n := h.calls.Add(1)
			if h.hold != nil {
				h.hold(n)
			}
		}
		return next(ctx, cmd)
	}
}

func (h *scriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

var scriptEnqueueSrc = scriptEnqueue.src

// pendingWaiters is how many callers wait in queue's pending flight.
func (b *Backend) pendingWaiters(queue string) int {
	b.lanes.mu.Lock()
	defer b.lanes.mu.Unlock()
	if l := b.lanes.byQueue[queue]; l != nil && l.pending != nil {
		return len(l.pending.waiters)
	}
	return 0
}

// holdFirstEnqueue enqueues "first" to queue "q" after a warm-up call and
// holds that script call in flight until release is closed, so that later
// calls to "q" must wait and coalesce; first answers the held call's error.
func holdFirstEnqueue(t *testing.T, b *Backend, c *redis.Client) (release chan struct{}, first <-chan error) {
	t.Helper()
	enqueue(t, b, "warm", "w")
	entered, release := make(chan struct{}), make(chan struct{})
	c.AddHook(&scriptHook{hold: func(n int64) {
		if n == 1 {
			close(entered)
			<-release
		}
	}})
	done := make(chan error, 1)
	go func() {
		_, err := b.Enqueue(context.Background(), []core.EnqueueRequest{{Queue: "q", ID: "first"}})
		done <- err
	}()
	<-entered
	return release, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Concurrent single-message enqueues share script calls, and every caller
// gets its own answers: added, already-queued for a duplicate id, an
// InvalidError for its own bad request; what is stored is what the adder
// sent.
func TestEnqueueCoalesces(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "warm", "w") // load the script
	hook := &scriptHook{hold: func(int64) { time.Sleep(2 * time.Millisecond) }}
	c.AddHook(hook)

	const callers, ids = 300, 200 // ids 0..99 are sent twice
	type answer struct {
		res []core.EnqueueResult
		err error
	}
	answers := make([]answer, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			reqs := []core.EnqueueRequest{{Queue: "q", ID: fmt.Sprintf("m%03d", i%ids), Payload: []byte(fmt.Sprintf("p%d", i))}}
			if i%10 == 3 { // a bad request beside a good one
				reqs = append(reqs, core.EnqueueRequest{Queue: "q", ID: fmt.Sprintf("bad%d", i), Delay: -time.Second})
			}
			res, err := b.Enqueue(ctx, reqs)
			answers[i] = answer{res, err}
		}()
	}
	close(start)
	wg.Wait()

	adder := map[string]int{}
	for i, a := range answers {
		if a.err != nil {
			t.Fatalf("caller %d: %v", i, a.err)
		}
		id := fmt.Sprintf("m%03d", i%ids)
		if want := 1 + btoi(i%10 == 3); len(a.res) != want {
			t.Fatalf("caller %d: %d results, want %d", i, len(a.res), want)
		}
		r := a.res[0]
		if r.ID != id {
			t.Fatalf("caller %d: result for %q, want %q", i, r.ID, id)
		}
		switch {
		case r.Err == nil && r.Action == core.Added:
			if j, dup := adder[id]; dup {
				t.Fatalf("%s added by callers %d and %d", id, j, i)
			}
			adder[id] = i
		case errors.Is(r.Err, core.ErrAlreadyQueued):
			if i%ids >= callers-ids {
				t.Fatalf("caller %d: %s already queued, but nobody else sent it", i, id)
			}
		default:
			t.Fatalf("caller %d: %v %v", i, r.Action, r.Err)
		}
		if len(a.res) == 2 {
			var inv *core.InvalidError
			if !errors.As(a.res[1].Err, &inv) || inv.Field != "delay" {
				t.Fatalf("caller %d: bad request answered %v", i, a.res[1].Err)
			}
		}
	}
	if len(adder) != ids {
		t.Fatalf("%d ids added, want %d", len(adder), ids)
	}
	calls := hook.calls.Load()
	t.Logf("%d callers, %d script calls", callers, calls)
	if calls >= callers/2 {
		t.Fatalf("%d script calls for %d concurrent callers: not coalesced", calls, callers)
	}

	got := 0
	for {
		ds := take(t, b, "q", 1000)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			if want := fmt.Sprintf("p%d", adder[d.ID]); string(d.Payload) != want {
				t.Fatalf("%s holds %q, want %q (its adder's)", d.ID, d.Payload, want)
			}
			got++
		}
	}
	if got != ids {
		t.Fatalf("took %d messages, want %d", got, ids)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A waiter whose context ends before its flight is sent leaves it, answers
// ctx.Err() and stores nothing; the others go through.
func TestEnqueueCoalescedCancel(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	release, first := holdFirstEnqueue(t, b, c)

	const n = 20
	cancels := make([]context.CancelFunc, n)
	errs := make([]chan error, n)
	for i := range n {
		cctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		errs[i] = make(chan error, 1)
		go func() {
			res, err := b.Enqueue(cctx, []core.EnqueueRequest{{Queue: "q", ID: fmt.Sprintf("w%02d", i)}})
			if err == nil && res[0].Err != nil {
				err = res[0].Err
			}
			errs[i] <- err
		}()
	}
	waitFor(t, "20 pending waiters", func() bool { return b.pendingWaiters("q") == n })
	for i := 0; i < n; i += 2 {
		cancels[i]()
		if err := <-errs[i]; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter %d: %v, want context.Canceled", i, err)
		}
	}
	if got := b.pendingWaiters("q"); got != n/2 {
		t.Fatalf("%d pending waiters after cancelling half, want %d", got, n/2)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i += 2 {
		if err := <-errs[i]; err != nil {
			t.Fatalf("waiter %d: %v", i, err)
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	for i := range n {
		want := core.StatusQueued
		if i%2 == 0 {
			want = core.StatusNone
		}
		if s, err := b.MessageStatus(ctx, "q", fmt.Sprintf("w%02d", i)); err != nil || s != want {
			t.Fatalf("w%02d: %v %v, want %v", i, s, err, want)
		}
	}
	if s, err := b.QueueStats(ctx, "q"); err != nil || s.Total != 1+n/2 {
		t.Fatalf("stats %+v %v", s, err)
	}
	if b.pendingWaiters("q") != 0 || len(b.lanes.byQueue) != 0 {
		t.Fatal("a lane outlived its flights")
	}
}

// Waiters whose flight was already sent get its real answers even if
// their contexts end meanwhile.
func TestEnqueueCoalescedSentIgnoresCancel(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "warm", "w")
	entered := []chan struct{}{make(chan struct{}), make(chan struct{})}
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	c.AddHook(&scriptHook{hold: func(n int64) {
		if n <= 2 {
			close(entered[n-1])
			<-release[n-1]
		}
	}})
	first := make(chan error, 1)
	go func() {
		_, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "first"}})
		first <- err
	}()
	<-entered[0]
	const n = 10
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			res, err := b.Enqueue(cctx, []core.EnqueueRequest{{Queue: "q", ID: fmt.Sprintf("w%02d", i)}})
			if err == nil && res[0].Err != nil {
				err = res[0].Err
			}
			errs <- err
		}()
	}
	waitFor(t, "10 pending waiters", func() bool { return b.pendingWaiters("q") == n })
	close(release[0])
	<-entered[1] // the second flight carries all ten
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(release[1])
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("a sent waiter answered %v, want its real result", err)
		}
	}
	if s, err := b.QueueStats(ctx, "q"); err != nil || s.Total != 1+n {
		t.Fatalf("stats %+v %v", s, err)
	}
}

// A pending flight is bounded: chunks beyond maxBatch messages start
// another flight, and every request is still answered in order.
func TestEnqueueCoalescedBounded(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	release, first := holdFirstEnqueue(t, b, c)
	// Three callers of 400 each: the third does not fit beside the first
	// two (1200 > maxBatch), so the pending flight of 800 goes out at once
	// while the first call is still held.
	var wg sync.WaitGroup
	for k := range 3 {
		reqs := make([]core.EnqueueRequest, 400)
		for i := range reqs {
			reqs[i] = core.EnqueueRequest{Queue: "q", ID: fmt.Sprintf("c%d-%03d", k, i)}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Enqueue(ctx, reqs)
			if err != nil {
				t.Error(err)
				return
			}
			for i, r := range res {
				if r.ID != reqs[i].ID || r.Err != nil || r.Action != core.Added {
					t.Errorf("caller %d request %d: %+v", k, i, r)
				}
			}
		}()
		if k < 2 {
			waitFor(t, "pending waiters", func() bool { return b.pendingWaiters("q") == k+1 })
		}
	}
	waitFor(t, "the full flight to go out", func() bool { return b.pendingWaiters("q") == 1 })
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if s, err := b.QueueStats(ctx, "q"); err != nil || s.Total != 1201 {
		t.Fatalf("stats %+v %v", s, err)
	}
}

// A plain batch (no options, distinct ids) takes the script's fast path;
// a batch that repeats an id or meets an existing one answers as the
// general path does, in request order.
func TestEnqueuePlainBatches(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "warm", "w") // load the script: EVALSHA, no EVAL fallback
	rec := &argRecorder{}
	c.AddHook(rec)
	optsArg := func() []string {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var out []string
		for _, args := range rec.cmds {
			if name, _ := args[0].(string); name == "evalsha" || name == "eval" {
				nkeys := args[2].(int)
				switch v := args[3+nkeys].(type) {
				case string:
					out = append(out, v)
				case []byte:
					out = append(out, string(v))
				}
			}
		}
		rec.cmds = nil
		return out
	}
	want := func(res []core.EnqueueResult, err error, wants ...any) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range wants {
			switch w := w.(type) {
			case core.Action:
				if res[i].Err != nil || res[i].Action != w {
					t.Fatalf("request %d: %v %v, want %v", i, res[i].Action, res[i].Err, w)
				}
			case error:
				if !errors.Is(res[i].Err, w) {
					t.Fatalf("request %d: %v, want %v", i, res[i].Err, w)
				}
			}
		}
	}
	req := func(id string) core.EnqueueRequest {
		return core.EnqueueRequest{Queue: "q", ID: id, Payload: []byte(id)}
	}
	res, err := b.Enqueue(ctx, []core.EnqueueRequest{req("a"), req("b")})
	want(res, err, core.Added, core.Added)
	if o := optsArg(); len(o) != 1 || o[0] != "" {
		t.Fatalf("a plain batch sent options %q, want empty (fast path)", o)
	}
	res, err = b.Enqueue(ctx, []core.EnqueueRequest{req("c"), req("d"), req("c")})
	want(res, err, core.Added, core.Added, core.ErrAlreadyQueued)
	if o := optsArg(); len(o) != 1 || len(o[0]) != 3*13 {
		t.Fatalf("a batch with a repeated id sent options %q, want packed options", o)
	}
	res, err = b.Enqueue(ctx, []core.EnqueueRequest{req("e"), req("a"), req("f")})
	want(res, err, core.Added, core.ErrAlreadyQueued, core.Added)
	if o := optsArg(); len(o) != 1 || o[0] != "" {
		t.Fatalf("options %q, want empty", o)
	}
	// One message: added, then already queued (the script's HSETNX).
	res, err = b.Enqueue(ctx, []core.EnqueueRequest{req("g")})
	want(res, err, core.Added)
	res, err = b.Enqueue(ctx, []core.EnqueueRequest{req("g")})
	want(res, err, core.ErrAlreadyQueued)
	if o := optsArg(); len(o) != 2 || o[0] != "" || o[1] != "" {
		t.Fatalf("options %q, want empty twice", o)
	}
	serverNow, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	ds := take(t, b, "q", 10)
	if got := fmt.Sprint(idsOf(ds)); got != "[a b c d e f g]" {
		t.Fatalf("took %s, want a to g in order", got)
	}
	for _, d := range ds {
		if string(d.Payload) != d.ID || d.Attempt != 1 || d.LockDuration != time.Minute {
			t.Fatalf("%s: %q attempt %d lock %v", d.ID, d.Payload, d.Attempt, d.LockDuration)
		}
		if age := serverNow.Sub(d.EnqueuedAt); age < 0 || age > 5*time.Second {
			t.Fatalf("%s enqueued at %v, server now %v", d.ID, d.EnqueuedAt, serverNow)
		}
	}
}
