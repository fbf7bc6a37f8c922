package queuetest

import (
	"context"
	"errors"
	"time"

	"github.com/redghost/redghost/core"
)

// featureWaitDequeue is the WaitDequeue group's capability.
func featureWaitDequeue(f Features, b core.Backend) (string, bool, bool) {
	_, has := b.(core.WaitDequeuer)
	return "WaitDequeue", f.WaitDequeue, has
}

var waitDequeueCases = []testCase{
	{"WakesAndTakes", wdWakesAndTakes},
	{"TimesOut", wdTimesOut},
	{"ZeroTimeoutIsDequeue", wdZeroTimeout},
	{"DoneContextTakesNothing", wdDoneContext},
	{"Invalid", wdInvalid},
	{"DelayedDueByNextDue", wdDelayedDue},
	{"SoonerRetryWakes", wdSoonerRetryWakes},
}

// wd is the backend as a WaitDequeuer (the group runs only when it is one).
func (c *checker) wd() core.WaitDequeuer { return c.b().(core.WaitDequeuer) }

func (c *checker) waitParams(timeout time.Duration, max int) core.WaitDequeueParams {
	return core.WaitDequeueParams{
		DequeueParams: core.DequeueParams{Queue: c.q, Max: max, Lock: longLock},
		Timeout:       timeout,
	}
}

type wdAnswer struct {
	res core.DequeueResult
	err error
	at  time.Time
}

// waitDequeueAsync starts a WaitDequeue in the background.
func (c *checker) waitDequeueAsync(ctx context.Context, p core.WaitDequeueParams) <-chan wdAnswer {
	done := make(chan wdAnswer, 1)
	go func() {
		res, err := c.wd().WaitDequeue(ctx, p)
		done <- wdAnswer{res, err, time.Now()}
	}()
	return done
}

func (c *checker) answer(what string, done <-chan wdAnswer, within time.Duration) wdAnswer {
	c.Helper()
	select {
	case a := <-done:
		if a.err != nil {
			c.Fatalf("%s: %v", what, a.err)
		}
		return a
	case <-time.After(within):
		c.Fatalf("%s: no answer within %v", what, within)
	}
	panic("unreachable")
}

// An enqueue wakes a WaitDequeue, which answers the message, locked.
func wdWakesAndTakes(c *checker) {
	done := c.waitDequeueAsync(c.ctx, c.waitParams(30*time.Second, 10))
	time.Sleep(50 * time.Millisecond) // let it block (an early answer is allowed)
	select {
	case a := <-done:
		if a.err != nil || len(a.res.Messages) != 0 {
			c.Fatalf("WaitDequeue answered before anything was enqueued: %+v, %v", a.res, a.err)
		}
		// A spurious wake: wait again.
		done = c.waitDequeueAsync(c.ctx, c.waitParams(30*time.Second, 10))
	default:
	}
	c.add("mid1", "msg1")
	a := c.answer("WaitDequeue after an enqueue", done, 5*time.Second)
	if len(a.res.Messages) != 1 {
		c.Fatalf("WaitDequeue woken by an enqueue took %q, want [mid1]", idsOf(a.res.Messages))
	}
	c.wantDelivery(a.res.Messages[0], "mid1", "msg1", 1, longLock)
	c.wantStatus("mid1", core.StatusLocked)
}

// On an empty queue WaitDequeue answers nothing, without an error, by
// about its timeout.
func wdTimesOut(c *checker) {
	start := time.Now()
	res, err := c.wd().WaitDequeue(c.ctx, c.waitParams(150*time.Millisecond, 10))
	if err != nil || len(res.Messages) != 0 {
		c.Fatalf("WaitDequeue on an empty queue: %+v, %v", res, err)
	}
	if took := time.Since(start); took > 150*time.Millisecond+500*time.Millisecond {
		c.Fatalf("WaitDequeue(150ms) took %v", took)
	}
}

// A zero timeout is a Dequeue: what is ready is taken at once.
func wdZeroTimeout(c *checker) {
	c.add("mid1", "msg1")
	c.add("mid2", "msg2")
	res, err := c.wd().WaitDequeue(c.ctx, c.waitParams(0, 1))
	if err != nil || len(res.Messages) != 1 {
		c.Fatalf("WaitDequeue(timeout 0, max 1): %+v, %v", res, err)
	}
	c.wantDelivery(res.Messages[0], "mid1", "msg1", 1, longLock)
	c.wantStatus("mid2", core.StatusQueued)
}

// A context done before the wait begins answers its error and takes
// nothing.
func wdDoneContext(c *checker) {
	c.seed()
	before := c.dump()
	ctx, cancel := context.WithCancel(c.ctx)
	cancel()
	res, err := c.wd().WaitDequeue(ctx, c.waitParams(time.Second, 10))
	if !errors.Is(err, context.Canceled) {
		c.Fatalf("WaitDequeue on a cancelled context: %v, want context.Canceled", err)
	}
	if len(res.Messages) != 0 {
		c.Fatalf("WaitDequeue on a cancelled context took %q", idsOf(res.Messages))
	}
	c.wantUnchanged(before, "WaitDequeue on a cancelled context")
	c.wantStatus("queued", core.StatusQueued)
}

// Bad params answer an InvalidError naming the field and take nothing.
func wdInvalid(c *checker) {
	c.seed()
	for _, tc := range []struct {
		what  string
		p     core.WaitDequeueParams
		field string
	}{
		{"the zero params", core.WaitDequeueParams{}, "Queue"},
		{"a queue name with a brace", func() core.WaitDequeueParams { p := c.waitParams(time.Second, 10); p.Queue = "a{b"; return p }(), "Queue"},
		{"zero max", c.waitParams(time.Second, 0), "Max"},
		{"negative max", c.waitParams(time.Second, -1), "Max"},
		{"zero lock", func() core.WaitDequeueParams { p := c.waitParams(time.Second, 10); p.Lock = 0; return p }(), "Lock"},
		{"lock over the maximum", func() core.WaitDequeueParams {
			p := c.waitParams(time.Second, 10)
			p.Lock = core.MaxDuration + time.Second
			return p
		}(), "Lock"},
		{"negative timeout", c.waitParams(-time.Second, 10), "Timeout"},
		{"timeout over the maximum", c.waitParams(core.MaxDuration+time.Second, 10), "Timeout"},
	} {
		before := c.dump()
		start := time.Now()
		res, err := c.wd().WaitDequeue(c.ctx, tc.p)
		c.wantInvalid("WaitDequeue with "+tc.what, err, tc.field)
		if len(res.Messages) != 0 {
			c.Fatalf("WaitDequeue with %s took %q", tc.what, idsOf(res.Messages))
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			c.Fatalf("WaitDequeue with %s waited %v before refusing", tc.what, took)
		}
		c.wantUnchanged(before, "WaitDequeue with "+tc.what)
	}
}

// dueLoop is a worker's idle loop: WaitDequeue for at most NextDue (a
// second when it is zero) until a message comes, while the backend's
// clock is advanced by due in the background. It answers the message and
// how many calls it took.
func (c *checker) dueLoop(res core.DequeueResult, due time.Duration) (core.Delivery, int) {
	c.Helper()
	moved := make(chan struct{})
	go func() { defer close(moved); c.advance(due) }()
	defer func() { <-moved }()
	for calls := 1; calls <= 20; calls++ {
		timeout := res.NextDue
		if timeout <= 0 {
			timeout = time.Second
		}
		var err error
		res, err = c.wd().WaitDequeue(c.ctx, c.waitParams(timeout, 10))
		if err != nil {
			c.Fatalf("WaitDequeue: %v", err)
		}
		if len(res.Messages) > 0 {
			return res.Messages[0], calls
		}
	}
	c.Fatal("nothing came in 20 WaitDequeue calls for at most NextDue each")
	panic("unreachable")
}

// A worker that waits at most NextDue takes a delayed message within a few
// milliseconds of its due time, in a few calls.
func wdDelayedDue(c *checker) {
	const delay = 300 * time.Millisecond
	start := time.Now()
	c.add("mid1", "msg1", core.WithDelay(delay))
	res := c.nothing()
	d, calls := c.dueLoop(res, delay)
	c.wantDelivery(d, "mid1", "msg1", 1, longLock)
	if took := time.Since(start); took > delay+200*time.Millisecond {
		c.Fatalf("a message delayed by %v was taken after %v", delay, took)
	}
	if calls > 4 {
		c.Fatalf("%d WaitDequeue calls to take a message delayed by %v, want at most 4", calls, delay)
	}
}

// An ack that schedules a retry before anything else pending wakes a
// waiting WaitDequeue, whose timeout was set by what was pending before:
// it answers the new NextDue, and the retry is taken by its due time.
func wdSoonerRetryWakes(c *checker) {
	const backoff = 300 * time.Millisecond
	c.add("mid1", "msg1")
	d := c.take(longLock)
	// A worker's wait after it took d: the next due is d's lock expiry.
	done := c.waitDequeueAsync(c.ctx, c.waitParams(30*time.Second, 10))
	time.Sleep(50 * time.Millisecond) // let it block (an early answer is allowed)
	select {
	case a := <-done:
		// A wake the enqueue left: the worker would wait again.
		if a.err != nil || len(a.res.Messages) != 0 {
			c.Fatalf("WaitDequeue with nothing ready: %+v, %v", a.res, a.err)
		}
		done = c.waitDequeueAsync(c.ctx, c.waitParams(30*time.Second, 10))
		time.Sleep(50 * time.Millisecond)
	default:
	}
	start := time.Now()
	c.ack(d, core.OutcomeRetry, backoff)
	a := c.answer("WaitDequeue after a retry ack", done, 5*time.Second)
	if took := a.at.Sub(start); took >= backoff || len(a.res.Messages) != 0 {
		c.Fatalf("WaitDequeue answered %q %v after an ack scheduled a retry in %v: the ack did not wake it",
			idsOf(a.res.Messages), took, backoff)
	}
	if a.res.NextDue <= 0 || a.res.NextDue > backoff {
		c.Fatalf("NextDue after a retry with backoff %v: %v, want in (0, %v]", backoff, a.res.NextDue, backoff)
	}
	d, calls := c.dueLoop(a.res, backoff)
	c.wantDelivery(d, "mid1", "msg1", 2, longLock)
	if took := time.Since(start); took > backoff+200*time.Millisecond {
		c.Fatalf("a message retried with backoff %v was taken after %v", backoff, took)
	}
	if calls > 4 {
		c.Fatalf("%d WaitDequeue calls to take a retry with backoff %v, want at most 4", calls, backoff)
	}
}
