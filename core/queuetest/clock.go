package queuetest

import (
	"sync"
	"time"

	"github.com/redghost/redghost/core"
)

// ManualClock is a [core.TickerClock] that moves only when told to. It is
// safe for concurrent use. Give one to the in-memory backend (or to a
// worker) to test delays, locks, backoffs, heartbeats and monitors without
// sleeping: the in-memory backend's waits end when [ManualClock.Advance]
// moves the clock past a due time.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
	changed chan struct{} // closed when a ticker is made or stopped
	timers  []*manualTimer
}

type manualTimer struct {
	at time.Time
	f  func()
}

var _ core.TickerClock = (*ManualClock)(nil)

// NewManualClock returns a clock that reads start until it is advanced.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, changed: make(chan struct{})}
}

// Now is the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d moves it back). Every
// ticker whose next tick falls at or before the new time ticks once (a
// ticker whose receiver is behind drops the tick, as a time.Ticker does)
// and is rescheduled one period past the new time at most. Then the
// functions of [ManualClock.AfterFunc] whose time has come are called, each
// in its own goroutine.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if t.next.After(c.now) {
			continue
		}
		select {
		case t.ch <- c.now:
		default:
		}
		for !t.next.After(c.now) {
			t.next = t.next.Add(t.period)
		}
	}
	var due []func()
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			due = append(due, t.f)
		}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// AfterFunc calls f in its own goroutine once the clock has moved d past
// now (at once if d is not positive). stop cancels the call and answers
// whether it did, as [time.Timer.Stop] does.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	t := &manualTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, u := range c.timers {
			if u == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// NewTicker returns a ticker that ticks when [ManualClock.Advance] moves
// the clock past each multiple of d from now. It panics if d is not
// positive, as time.NewTicker does.
func (c *ManualClock) NewTicker(d time.Duration) core.Ticker {
	if d <= 0 {
		panic("queuetest: ManualClock.NewTicker: non-positive interval")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTicker{clock: c, period: d, next: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	c.signal()
	return t
}

// Tickers is how many tickers made on the clock are running.
func (c *ManualClock) Tickers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers)
}

// WaitTickers blocks until at least n tickers run on the clock, or timeout
// (real time) passes; it reports whether they do. Tests call it before
// Advance, so that a worker's heartbeat and monitor are listening.
func (c *ManualClock) WaitTickers(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		have, changed := len(c.tickers), c.changed
		c.mu.Unlock()
		if have >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// signal wakes WaitTickers. Call with c.mu held.
func (c *ManualClock) signal() {
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

type manualTicker struct {
	clock  *ManualClock
	period time.Duration
	next   time.Time
	ch     chan time.Time
}

func (t *manualTicker) C() <-chan time.Time { return t.ch }

func (t *manualTicker) Stop() {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.tickers {
		if x == t {
			c.tickers = append(c.tickers[:i], c.tickers[i+1:]...)
			c.signal()
			return
		}
	}
}
