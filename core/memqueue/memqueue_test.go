package memqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/redghost/redghost/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustEnqueue(t *testing.T, b *Backend, reqs ...core.EnqueueRequest) []core.EnqueueResult {
	t.Helper()
	res, err := b.Enqueue(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("enqueue %d: %v", i, r.Err)
		}
	}
	return res
}

func mustDequeue(t *testing.T, b *Backend, queue string, max int) core.DequeueResult {
	t.Helper()
	res, err := b.Dequeue(context.Background(), core.DequeueParams{Queue: queue, Max: max, Lock: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// failAll enqueues n messages to queue and fails each with an error outcome.
func failAll(t *testing.T, b *Backend, queue string, n int) {
	t.Helper()
	for i := range n {
		mustEnqueue(t, b, core.EnqueueRequest{Queue: queue, ID: fmt.Sprintf("m%d", i)})
		d := mustDequeue(t, b, queue, 1).Messages
		if len(d) != 1 {
			t.Fatalf("took %d messages", len(d))
		}
		errs, err := b.Ack(context.Background(), queue, []core.Ack{{ID: d[0].ID, Token: d[0].Token, Outcome: core.OutcomeError, Error: "e"}})
		if err != nil || errs[0] != nil {
			t.Fatal(err, errs)
		}
	}
}

func deadIDs(t *testing.T, b *Backend, queue string) []string {
	t.Helper()
	dl, err := b.DeadLetters(context.Background(), queue, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range dl {
		ids = append(ids, x.ID)
	}
	return ids
}

func TestDeadLetterLimitKeepsNewest(t *testing.T) {
	_, b, _ := newEnv(t, WithDeadLetterLimit(3))
	failAll(t, b, "q", 5)
	if got := strings.Join(deadIDs(t, b, "q"), " "); got != "m4 m3 m2" {
		t.Fatalf("dead letters %q, want the 3 newest: m4 m3 m2", got)
	}
	s, _ := b.QueueStats(context.Background(), "q")
	if s.Dead != 3 {
		t.Fatalf("Dead = %d, want 3", s.Dead)
	}
}

func TestDeadLetterLimitLongRun(t *testing.T) {
	_, b, _ := newEnv(t, WithDeadLetterLimit(2))
	failAll(t, b, "q", 200) // drops far more than it keeps: exercises the compaction
	if got := strings.Join(deadIDs(t, b, "q"), " "); got != "m199 m198" {
		t.Fatalf("dead letters %q, want m199 m198", got)
	}
	if n := len(b.queues["q"].dead.entries); n > 100 {
		t.Fatalf("dead list holds %d slots for 2 entries", n)
	}
}

func TestDeadLetterLimitZeroKeepsNone(t *testing.T) {
	_, b, _ := newEnv(t, WithDeadLetterLimit(0))
	failAll(t, b, "q", 2)
	if ids := deadIDs(t, b, "q"); len(ids) != 0 {
		t.Fatalf("dead letters %q, want none", ids)
	}
	names, _ := b.QueueNames(context.Background())
	if len(names) != 0 {
		t.Fatalf("QueueNames %q after every message was collected", names)
	}
}

func TestDefaultDeadLetterLimit(t *testing.T) {
	if b, err := New(); err != nil || b.deadLimit != DefaultDeadLetterLimit {
		t.Fatalf("default dead-letter limit %v (%v), want %d", b, err, DefaultDeadLetterLimit)
	}
	if b, err := New(WithDeadLetterLimit(0)); err != nil || b.deadLimit != 0 {
		t.Fatalf("WithDeadLetterLimit(0) = %v, %v; zero keeps no dead letters and is valid", b, err)
	}
}

func TestRequeuedDeadLetterKeepsOwnLock(t *testing.T) {
	_, b, _ := newEnv(t)
	ctx := context.Background()
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "m", LockDuration: 7 * time.Second})
	d := mustDequeue(t, b, "q", 1).Messages[0]
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: "m", Token: d.Token, Outcome: core.OutcomeError}}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RequeueDeadLetters(ctx, "q"); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if d := mustDequeue(t, b, "q", 1).Messages[0]; d.LockDuration != 7*time.Second || d.Attempt != 1 {
		t.Fatalf("requeued dead letter: lock %v attempt %d, want 7s 1", d.LockDuration, d.Attempt)
	}
}

// waitReturns runs Wait in the background and answers a channel with its
// result.
func waitReturns(b *Backend, ctx context.Context, queue string, timeout time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx, queue, timeout) }()
	return done
}

// waiting blocks until n Wait calls block on queue.
func waiting(t *testing.T, b *Backend, queue string, n int) {
	t.Helper()
	for range 2000 {
		b.mu.Lock()
		w := b.waiters[queue]
		got := 0
		if w != nil {
			got = w.n
		}
		b.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fewer than %d Wait calls blocked on %q", n, queue)
}

func wantReturn(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: Wait: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: Wait did not return", what)
	}
}

func wantBlocked(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: Wait returned early (%v)", what, err)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestWaitWakesEveryWaiterOnEnqueue(t *testing.T) {
	_, b, _ := newEnv(t)
	ctx := context.Background()
	w1 := waitReturns(b, ctx, "q", time.Minute)
	w2 := waitReturns(b, ctx, "q", time.Minute)
	other := waitReturns(b, ctx, "other", time.Minute)
	waiting(t, b, "q", 2)
	waiting(t, b, "other", 1)
	wantBlocked(t, w1, "before the enqueue")
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "m"})
	wantReturn(t, w1, "first waiter")
	wantReturn(t, w2, "second waiter")
	wantBlocked(t, other, "waiter on another queue")
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "other", ID: "m"})
	wantReturn(t, other, "waiter on the other queue")
}

func TestWaitWakesOnRetry(t *testing.T) {
	_, b, _ := newEnv(t)
	ctx := context.Background()
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "m"})
	d := mustDequeue(t, b, "q", 1).Messages[0]
	w := waitReturns(b, ctx, "q", time.Minute)
	waiting(t, b, "q", 1)
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: "m", Token: d.Token, Outcome: core.OutcomeRetry}}); err != nil {
		t.Fatal(err)
	}
	wantReturn(t, w, "after a retry")
}

func TestWaitAnswersAtOnceWhenWorkIsDue(t *testing.T) {
	_, b, clock := newEnv(t)
	ctx := context.Background()
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "ready"})
	wantReturn(t, waitReturns(b, ctx, "q", time.Minute), "with a ready message")

	mustDequeue(t, b, "q", 1)
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "later", Delay: time.Second})
	w := waitReturns(b, ctx, "q", time.Minute)
	waiting(t, b, "q", 1)
	wantBlocked(t, w, "with only a delayed message")
	clock.Advance(time.Second)
	wantReturn(t, waitReturns(b, ctx, "q", time.Minute), "with a delayed message that is due")
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "wake"})
	wantReturn(t, w, "the blocked waiter, after an enqueue")
}

func TestWaitTimeoutAndContext(t *testing.T) {
	_, b, _ := newEnv(t)
	start := time.Now()
	if err := b.Wait(context.Background(), "q", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("Wait(30ms) returned after %v", took)
	}
	if err := b.Wait(context.Background(), "q", 0); err != nil {
		t.Fatalf("Wait(0): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx, "q", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context: %v", err)
	}
	b.mu.Lock()
	left := len(b.waiters)
	b.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d waiters left after every Wait returned", left)
	}
}

func TestCancelledContextFailsEveryCall(t *testing.T) {
	_, b, _ := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := b.Dump()
	checks := map[string]error{}
	_, checks["Enqueue"] = b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "m"}})
	_, checks["Dequeue"] = b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Second})
	_, checks["Ack"] = b.Ack(ctx, "q", nil)
	_, checks["ExtendLocks"] = b.ExtendLocks(ctx, "q", nil)
	_, checks["MessageStatus"] = b.MessageStatus(ctx, "q", "m")
	_, checks["QueueStats"] = b.QueueStats(ctx, "q")
	_, _, checks["QueueContent"] = b.QueueContent(ctx, "q", "", 1)
	_, checks["QueueNames"] = b.QueueNames(ctx)
	checks["ClearQueues"] = b.ClearQueues(ctx, "q")
	_, checks["DeadLetters"] = b.DeadLetters(ctx, "q", 0, 1)
	_, checks["RequeueDeadLetters"] = b.RequeueDeadLetters(ctx, "q")
	_, checks["PurgeDeadLetters"] = b.PurgeDeadLetters(ctx, "q")
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s on a cancelled context: %v", name, err)
		}
	}
	if b.Dump() != before {
		t.Fatal("a call on a cancelled context wrote")
	}
}

func TestNextDue(t *testing.T) {
	_, b, clock := newEnv(t)
	ctx := context.Background()
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "m"})
	res, _ := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: 3 * time.Second})
	if res.NextDue != 3*time.Second {
		t.Fatalf("NextDue with a 3s lock: %v", res.NextDue)
	}
	d := res.Messages[0]
	clock.Advance(time.Second)
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: "m", Token: d.Token, Backoff: 5 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if res := mustDequeue(t, b, "q", 1); res.NextDue != 5*time.Second {
		t.Fatalf("NextDue with a 5s done backoff: %v", res.NextDue)
	}
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "soon", Delay: 2 * time.Second})
	if res := mustDequeue(t, b, "q", 1); res.NextDue != 2*time.Second {
		t.Fatalf("NextDue with a 2s delay and a 5s backoff: %v", res.NextDue)
	}
	clock.Advance(5 * time.Second)
	if res := mustDequeue(t, b, "q", 1); res.NextDue != time.Minute || len(res.Messages) != 1 {
		t.Fatalf("after everything was due: %d messages, NextDue %v; want 1, the new lock", len(res.Messages), res.NextDue)
	}
}

func TestWithLimits(t *testing.T) {
	_, b, _ := newEnv(t, WithLimits(core.Limits{MaxPayloadBytes: 4, MaxHeaders: 1}))
	res, err := b.Enqueue(context.Background(), []core.EnqueueRequest{
		{Queue: "q", ID: "ok", Payload: []byte("four")},
		{Queue: "q", ID: "big", Payload: []byte("five!")},
		{Queue: "q", ID: "hdr", Headers: map[string]string{"a": "1", "b": "2"}},
		{Queue: "q", ID: "hdrbytes", Headers: map[string]string{"a": strings.Repeat("x", core.DefaultMaxHeaderBytes)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ie *core.InvalidError
	if res[0].Err != nil || !errors.As(res[1].Err, &ie) || ie.Field != "payload" ||
		!errors.As(res[2].Err, &ie) || ie.Field != "headers" || !errors.As(res[3].Err, &ie) || ie.Field != "headers" {
		t.Fatalf("results %+v", res)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opt   Option
		field string
	}{
		{"negative dead-letter limit", WithDeadLetterLimit(-1), "WithDeadLetterLimit"},
		{"nil clock", WithClock(nil), "WithClock"},
		{"negative payload limit", WithLimits(core.Limits{MaxPayloadBytes: -1}), "WithLimits"},
		{"negative header bytes", WithLimits(core.Limits{MaxHeaderBytes: -1}), "WithLimits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.opt)
			var ie *core.InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, core.ErrInvalid) || b != nil {
				t.Fatalf("New = %v, %v; want only an *InvalidError naming %s", b, err, tc.field)
			}
		})
	}
}

func TestEmptyQueueIsForgotten(t *testing.T) {
	_, b, _ := newEnv(t)
	ctx := context.Background()
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "m"})
	d := mustDequeue(t, b, "q", 1).Messages[0]
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: "m", Token: d.Token}}); err != nil {
		t.Fatal(err)
	}
	if len(b.queues) != 0 {
		t.Fatalf("%d queues kept after the last message was collected", len(b.queues))
	}
	if _, err := b.Dequeue(ctx, core.DequeueParams{Queue: "never", Max: 1, Lock: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.MessageStatus(ctx, "never", "m"); err != nil {
		t.Fatal(err)
	}
	if len(b.queues) != 0 {
		t.Fatal("a read made a queue")
	}
}

func TestTokensGrowAcrossQueues(t *testing.T) {
	_, b, _ := newEnv(t)
	var last uint64
	for _, q := range []string{"a", "b", "a"} {
		mustEnqueue(t, b, core.EnqueueRequest{Queue: q})
		d := mustDequeue(t, b, q, 1).Messages[0]
		if d.Token <= last {
			t.Fatalf("token %d after %d", d.Token, last)
		}
		last = d.Token
	}
}

func TestDump(t *testing.T) {
	_, b, clock := newEnv(t)
	ctx := context.Background()
	if got := b.Dump(); got != "token 0\n" {
		t.Fatalf("Dump of an empty backend: %q", got)
	}
	mustEnqueue(t, b,
		core.EnqueueRequest{Queue: "q", ID: "a", Payload: []byte("pa"), Headers: map[string]string{"k": "v", "b": "c"}},
		core.EnqueueRequest{Queue: "q", ID: "big", Payload: make([]byte, 100)},
	)
	mustDequeue(t, b, "q", 1)
	clock.Advance(time.Second)
	mustEnqueue(t, b, core.EnqueueRequest{Queue: "q", ID: "a", Payload: []byte("copy"), LockDuration: time.Second, CanRequeue: true})
	want := `token 1
queue "q"
  ready "big"
  msg "a" locked attempts=1 token=1 lock=2030-01-02T03:05:05Z backoff=- due=2030-01-02T03:05:05Z enqueued=2030-01-02T03:04:05Z lockdur=0s payload="pa" headers={"b":"c" "k":"v"}
    requeue lockdur=1s payload="copy" headers={}
  msg "big" ready attempts=0 token=0 lock=- backoff=- due=- enqueued=2030-01-02T03:04:05Z lockdur=0s payload=100 bytes sha256:cd00e292c5970d3c5e2f0ffa5171e555bc46bfc4faddfb4a418b6840b86e79a3 headers={}
`
	if got := b.Dump(); got != want {
		t.Fatalf("Dump:\n%s\nwant:\n%s", got, want)
	}
	if b.Dump() != b.Dump() {
		t.Fatal("two dumps differ")
	}
	if _, err := b.MessageStatus(ctx, "q", "a"); err != nil {
		t.Fatal(err)
	}
	if b.Dump() != want {
		t.Fatal("a read changed the dump")
	}
}
