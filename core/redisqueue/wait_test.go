package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// waitBlocked waits until the server behind admin has n clients blocked
// (in BLPOP): the sign that a waiter is waiting. Use it on a private
// server, where nobody else blocks.
func waitBlocked(t *testing.T, admin *redis.Client, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d blocked clients", n), func() bool {
		s, err := admin.Info(context.Background(), "clients").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(s, "\r\n") {
			if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
				k, _ := strconv.Atoi(v)
				return k >= n
			}
		}
		return false
	})
}

// WaitDequeue woken by another client's enqueue answers the message at
// once, in one round trip; unwoken, it answers an empty batch after about
// its timeout.
func TestWaitDequeueWakesAndTakes(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t) // private: waitBlocked counts its clients
	c, admin := srv.Client(t), srv.Client(t)
	waiter, other := mustNew(t, c), mustNew(t, srv.Client(t))
	rec := &argRecorder{}
	c.AddHook(rec)
	ctx := context.Background()
	// Load the script and open the client's pipeline connection first.
	if _, err := waiter.WaitDequeue(ctx, core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute}, Timeout: 2 * blockSlack}); err != nil {
		t.Fatal(err)
	}

	for round := range 3 {
		type answer struct {
			res core.DequeueResult
			err error
			at  time.Time
		}
		done := make(chan answer, 1)
		rec.reset()
		go func() {
			res, err := waiter.WaitDequeue(ctx, core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}, Timeout: 5 * time.Second})
			done <- answer{res, err, time.Now()}
		}()
		waitBlocked(t, admin, 1)
		select {
		case a := <-done:
			t.Fatalf("round %d: WaitDequeue answered before anything was enqueued: %+v", round, a)
		default:
		}
		sent := time.Now()
		id := fmt.Sprintf("m%d", round)
		enqueue(t, other, "q", id)
		a := <-done
		if a.err != nil {
			t.Fatal(a.err)
		}
		// Woken, not timed out (5 s): the bound leaves room for a loaded
		// machine.
		if lat := a.at.Sub(sent); lat > time.Second {
			t.Fatalf("round %d: answered %v after the enqueue", round, lat)
		}
		if len(a.res.Messages) != 1 || a.res.Messages[0].ID != id || a.res.Messages[0].Attempt != 1 {
			t.Fatalf("round %d: got %+v, want %s", round, a.res.Messages, id)
		}
		cmds := fmt.Sprint(rec.cmds)
		if _, trips := rec.reset(); trips != 1 {
			t.Fatalf("round %d: %d round trips, want 1: %s", round, trips, cmds)
		}
		if s, err := waiter.MessageStatus(ctx, "q", id); err != nil || s != core.StatusLocked {
			t.Fatalf("round %d: %s is %v (%v), want locked", round, id, s, err)
		}
	}

	// Unwoken, the BLPOP ends blockSlack before the timeout (the server
	// may time it out that much late), never after it.
	start := time.Now()
	res, err := waiter.WaitDequeue(ctx, core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}, Timeout: 250 * time.Millisecond})
	if err != nil || len(res.Messages) != 0 {
		t.Fatalf("WaitDequeue on an empty queue: %+v, %v", res, err)
	}
	if el := time.Since(start); el < 250*time.Millisecond-blockSlack-10*time.Millisecond || el > 250*time.Millisecond+100*time.Millisecond {
		t.Fatalf("WaitDequeue(250ms) took %v", el)
	}
}

// A wait at most blockSlack long is slept here, not on the server, where a
// BLPOP of 20 ms answers on the server's next cron tick (up to 100 ms at
// the default hz): no BLPOP is sent and the wait ends within a few
// milliseconds of its timeout. A longer wait blocks on the server until
// blockSlack before its end. The same for Wait.
func TestShortWaitsEndOnTime(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	rec := &argRecorder{}
	c.AddHook(rec)
	ctx := context.Background()
	p := core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}}
	if _, err := b.WaitDequeue(ctx, p); err != nil { // load the script
		t.Fatal(err)
	}
	blpops := func() []string {
		t.Helper()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var got []string
		for _, a := range rec.cmds {
			if a[0] == "blpop" {
				got = append(got, fmt.Sprint(a[2]))
			}
		}
		rec.cmds = nil
		return got
	}
	for _, d := range []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, blockSlack} {
		p.Timeout = d
		blpops()
		start := time.Now()
		if _, err := b.WaitDequeue(ctx, p); err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		if got := blpops(); len(got) != 0 {
			t.Errorf("WaitDequeue(%v) sent BLPOP %v", d, got)
		}
		if el < d || el > d+90*time.Millisecond {
			t.Errorf("WaitDequeue(%v) took %v", d, el)
		}
		if err := b.Wait(ctx, "q", d); err != nil {
			t.Fatal(err)
		}
		if got := blpops(); len(got) != 0 {
			t.Errorf("Wait(%v) sent BLPOP %v", d, got)
		}
	}
	p.Timeout = 250 * time.Millisecond
	if _, err := b.WaitDequeue(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := blpops(); len(got) != 1 || got[0] != "0.150" {
		t.Errorf("WaitDequeue(250ms) sent BLPOPs %v, want one of 0.150 s", got)
	}
	start := time.Now()
	if err := b.Wait(ctx, "q", 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	if got := blpops(); len(got) != 1 || got[0] != "0.150" {
		t.Errorf("Wait(250ms) sent BLPOPs %v, want one of 0.150 s", got)
	}
	if el < 250*time.Millisecond || el > 250*time.Millisecond+90*time.Millisecond {
		t.Errorf("Wait(250ms) took %v", el)
	}
}

// Bad params are refused before anything is sent (the suite checks the
// errors); a Redis that lost its scripts still answers.
func TestWaitDequeueInvalidAndNoScript(t *testing.T) {
	t.Parallel()
	c := redistest.Start(t).Client(t) // private: SCRIPT FLUSH below
	b := mustNew(t, c)
	rec := &argRecorder{}
	c.AddHook(rec)
	enqueue(t, b, "q", "m1")
	rec.reset()

	for what, p := range map[string]core.WaitDequeueParams{
		"empty queue name": {DequeueParams: core.DequeueParams{Max: 10, Lock: time.Minute}, Timeout: time.Second},
		"max 0":            {DequeueParams: core.DequeueParams{Queue: "q", Lock: time.Minute}, Timeout: time.Second},
		"negative timeout": {DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}, Timeout: -time.Second},
		"zero lock":        {DequeueParams: core.DequeueParams{Queue: "q", Max: 10}, Timeout: time.Second},
	} {
		if _, err := b.WaitDequeue(context.Background(), p); !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("%s: %v, want an invalid-argument error", what, err)
		}
	}
	if n, _ := rec.reset(); n != 0 {
		t.Fatalf("refused calls sent %d commands", n)
	}
	if s, err := b.MessageStatus(context.Background(), "q", "m1"); err != nil || s != core.StatusQueued {
		t.Fatalf("m1 is %v (%v) after refused calls, want queued", s, err)
	}

	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := b.WaitDequeue(context.Background(), core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}, Timeout: time.Second})
	if err != nil || len(res.Messages) != 1 || res.Messages[0].ID != "m1" {
		t.Fatalf("WaitDequeue after SCRIPT FLUSH: %+v, %v", res, err)
	}
}

// A worker on Redis that keeps up with a trickle of messages spends two
// round trips on each: the pipelined wait and dequeue, and the ack.
func TestWorkerRoundTripsAtLowRate(t *testing.T) {
	t.Parallel()
	b, c, prefix := newEnv(t)
	pub := core.NewPublisher(mustNew(t, redistest.Shared(t).Client(t), WithPrefix(prefix)))
	rec := &argRecorder{}
	c.AddHook(rec)
	w, err := core.NewWorker(core.NewQueue(b, "trickle"), core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// idleAfter: the worker found nothing more ready and goes to wait.
	idleAfter := func(sleeps int64) {
		t.Helper()
		waitFor(t, "the worker to wait again", func() bool { return w.Stats().Sleeps > sleeps })
	}
	idleAfter(0)
	rec.reset()
	start := time.Now()
	const n = 20
	for i := range n {
		sleeps := w.Stats().Sleeps
		if _, err := pub.Enqueue(context.Background(), "trickle", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		idleAfter(sleeps) // it took the message, found no more, and waits again
		waitFor(t, "the handler's success", func() bool { return w.Stats().Success > int64(i) })
	}
	_, trips := rec.reset()
	// Besides: a timed-out wait per started second, a monitor reading or
	// heartbeat now and then.
	idle := int(time.Since(start)/time.Second) + 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d round trips for %d messages", trips, n)
	if trips > 2*n+idle+5 {
		t.Fatalf("%d round trips for %d messages handled one at a time, want about %d", trips, n, 2*n)
	}
}
