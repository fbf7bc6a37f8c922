package queuetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// featureMultiWait is the MultiWait group's capability.
func featureMultiWait(f Features, b core.Backend) (string, bool, bool) {
	_, has := b.(core.MultiWaiter)
	return "MultiWait", f.MultiWait, has
}

var multiWaitCases = []testCase{
	{"EnqueueWakesItsQueue", mwEnqueueWakes},
	{"WokenBeforeAnswersAtOnce", mwWokenBefore},
	{"TimesOut", mwTimesOut},
	{"ZeroTimeoutTakesWakes", mwZeroTimeout},
	{"SoonerRetryWakes", mwSoonerRetryWakes},
	{"DoneContext", mwDoneContext},
	{"Invalid", mwInvalid},
}

// mw is the backend as a MultiWaiter (the group runs only when it is one).
func (c *checker) mw() core.MultiWaiter { return c.b().(core.MultiWaiter) }

// threeQueues are the queues a case waits on: the main queue and two more.
func (c *checker) threeQueues() []string { return []string{c.q, c.queue("b"), c.queue("c")} }

type mwAnswer struct {
	queues []string
	err    error
}

func (c *checker) waitAnyAsync(ctx context.Context, p core.WaitAnyParams) <-chan mwAnswer {
	done := make(chan mwAnswer, 1)
	go func() {
		qs, err := c.mw().WaitAny(ctx, p)
		done <- mwAnswer{qs, err}
	}()
	return done
}

// wantWoken waits at most within for an answer that names queue.
func (c *checker) wantWoken(what string, done <-chan mwAnswer, queue string, within time.Duration) []string {
	c.Helper()
	select {
	case a := <-done:
		if a.err != nil {
			c.Fatalf("%s: %v", what, a.err)
		}
		if !slices.Contains(a.queues, queue) {
			c.Fatalf("%s answered %q, want %q among them", what, a.queues, queue)
		}
		return a.queues
	case <-time.After(within):
		c.Fatalf("%s: no answer within %v", what, within)
	}
	panic("unreachable")
}

// An enqueue to one of the queues wakes a WaitAny, which names it.
func mwEnqueueWakes(c *checker) {
	qs := c.threeQueues()
	p := core.WaitAnyParams{Queues: qs, Timeout: 30 * time.Second}
	done := c.waitAnyAsync(c.ctx, p)
	time.Sleep(50 * time.Millisecond) // let it block
	select {
	case a := <-done:
		if a.err != nil || len(a.queues) != 0 {
			c.Fatalf("WaitAny answered before anything was enqueued: %q, %v", a.queues, a.err)
		}
		done = c.waitAnyAsync(c.ctx, p) // a spurious wake: wait again
	default:
	}
	c.enqueueAll(reqTo(qs[1], "m1", "x"))
	c.wantWoken("WaitAny after an enqueue to "+qs[1], done, qs[1], 5*time.Second)
	// Its message is there to take.
	if res := c.dequeueFrom(qs[1], 10, longLock); len(res.Messages) != 1 {
		c.Fatalf("dequeue after the wake took %q, want [m1]", idsOf(res.Messages))
	}
}

// A queue woken before the wait begins is answered at once: the wake is
// not lost between two waits.
func mwWokenBefore(c *checker) {
	qs := c.threeQueues()
	c.enqueueAll(reqTo(qs[2], "m1", "x"))
	start := time.Now()
	done := c.waitAnyAsync(c.ctx, core.WaitAnyParams{Queues: qs, Timeout: 30 * time.Second})
	c.wantWoken("WaitAny after an earlier enqueue", done, qs[2], 5*time.Second)
	if took := time.Since(start); took > time.Second {
		c.Fatalf("WaitAny with a queue woken already took %v", took)
	}
}

// On empty queues WaitAny answers none, without an error, by about its
// timeout.
func mwTimesOut(c *checker) {
	start := time.Now()
	qs, err := c.mw().WaitAny(c.ctx, core.WaitAnyParams{Queues: c.threeQueues(), Timeout: 150 * time.Millisecond})
	if err != nil || len(qs) != 0 {
		c.Fatalf("WaitAny on empty queues: %q, %v", qs, err)
	}
	if took := time.Since(start); took > 150*time.Millisecond+500*time.Millisecond {
		c.Fatalf("WaitAny(150ms) took %v", took)
	}
}

// A zero timeout answers, without blocking, the queues woken since; once
// their messages are taken it answers none.
func mwZeroTimeout(c *checker) {
	qs := c.threeQueues()
	c.enqueueAll(reqTo(qs[0], "m1", "x"), reqTo(qs[2], "m2", "x"))
	got, err := c.mw().WaitAny(c.ctx, core.WaitAnyParams{Queues: qs})
	if err != nil {
		c.Fatalf("WaitAny(timeout 0): %v", err)
	}
	slices.Sort(got)
	want := []string{qs[0], qs[2]}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		c.Fatalf("WaitAny(timeout 0) after enqueues to two queues answered %q, want %q", got, want)
	}
	c.dequeueFrom(qs[0], 10, longLock)
	c.dequeueFrom(qs[2], 10, longLock)
	if got, err := c.mw().WaitAny(c.ctx, core.WaitAnyParams{Queues: qs}); err != nil || len(got) != 0 {
		c.Fatalf("WaitAny(timeout 0) with every wake used and nothing ready: %q, %v", got, err)
	}
}

// An ack that schedules a retry sooner than anything else pending wakes
// the queue, so that a waiter reads the new due time.
func mwSoonerRetryWakes(c *checker) {
	qs := c.threeQueues()
	c.add("m1", "x")
	d := c.take(longLock)
	// Use up the enqueue's wake.
	if _, err := c.mw().WaitAny(c.ctx, core.WaitAnyParams{Queues: qs}); err != nil {
		c.Fatal(err)
	}
	done := c.waitAnyAsync(c.ctx, core.WaitAnyParams{Queues: qs, Timeout: 30 * time.Second})
	time.Sleep(50 * time.Millisecond)
	c.ack(d, core.OutcomeRetry, 300*time.Millisecond) // sooner than the lock, which was due next
	c.wantWoken("WaitAny after an ack that scheduled a retry", done, qs[0], 5*time.Second)
}

// A done context answers its error.
func mwDoneContext(c *checker) {
	ctx, cancel := context.WithCancel(c.ctx)
	cancel()
	if _, err := c.mw().WaitAny(ctx, core.WaitAnyParams{Queues: c.threeQueues(), Timeout: time.Second}); !errors.Is(err, context.Canceled) {
		c.Fatalf("WaitAny on a cancelled context: %v, want context.Canceled", err)
	}
	// A context cancelled while it waits ends the wait within about a
	// blocking step (a second on Redis).
	ctx, cancel = context.WithCancel(c.ctx)
	done := c.waitAnyAsync(ctx, core.WaitAnyParams{Queues: c.threeQueues(), Timeout: 30 * time.Second})
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case a := <-done:
		if a.err != nil && !errors.Is(a.err, context.Canceled) {
			c.Fatalf("WaitAny whose context was cancelled: %v", a.err)
		}
	case <-time.After(3 * time.Second):
		c.Fatal("WaitAny whose context was cancelled did not return")
	}
}

// Bad params answer an InvalidError naming the field and change nothing.
func mwInvalid(c *checker) {
	c.seed()
	qs := c.threeQueues()
	for _, tc := range []struct {
		what  string
		p     core.WaitAnyParams
		field string
	}{
		{"the zero params", core.WaitAnyParams{}, "Queues"},
		{"a queue name with a brace", core.WaitAnyParams{Queues: []string{c.q, "a{b"}, Timeout: time.Second}, "Queues"},
		{"an empty queue name", core.WaitAnyParams{Queues: []string{""}, Timeout: time.Second}, "Queues"},
		{"a queue named twice", core.WaitAnyParams{Queues: []string{c.q, qs[1], c.q}, Timeout: time.Second}, "Queues"},
		{"too many queues", core.WaitAnyParams{Queues: strings.Split(strings.Repeat("q,", core.MaxWaitAnyQueues)+"q", ","), Timeout: time.Second}, "Queues"},
		{"negative timeout", core.WaitAnyParams{Queues: qs, Timeout: -time.Second}, "Timeout"},
		{"timeout over the maximum", core.WaitAnyParams{Queues: qs, Timeout: core.MaxDuration + time.Second}, "Timeout"},
	} {
		before := c.dump()
		start := time.Now()
		got, err := c.mw().WaitAny(c.ctx, tc.p)
		c.wantInvalid("WaitAny with "+tc.what, err, tc.field)
		if len(got) != 0 {
			c.Fatalf("WaitAny with %s answered %q", tc.what, got)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			c.Fatalf("WaitAny with %s waited %v before refusing", tc.what, took)
		}
		c.wantUnchanged(before, "WaitAny with "+tc.what)
	}
}
