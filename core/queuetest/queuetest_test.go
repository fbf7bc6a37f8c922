package queuetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

var _ core.TickerClock = (*ManualClock)(nil)

func TestManualClock(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewManualClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now %v, want %v", c.Now(), start)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Millisecond)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(time.Second); !got.Equal(want) {
		t.Fatalf("after 1000 advances of 1ms: %v, want %v", got, want)
	}
}

func TestQueueName(t *testing.T) {
	if got := QueueName(t, "a"); got != "TestQueueName/a" {
		t.Fatalf("QueueName: %q", got)
	}
	t.Run("braces{x}\x01", func(t *testing.T) {
		q := QueueName(t, "")
		if err := core.ValidateQueueName(q); err != nil {
			t.Fatalf("QueueName %q: %v", q, err)
		}
	})
	t.Run(strings.Repeat("long", 100), func(t *testing.T) {
		a, b := QueueName(t, "a"), QueueName(t, "b")
		for _, q := range []string{a, b} {
			if err := core.ValidateQueueName(q); err != nil {
				t.Fatalf("QueueName %q: %v", q, err)
			}
		}
		if a == b {
			t.Fatalf("two suffixes gave the same long name %q", a)
		}
	})
}

func TestManualClockTickers(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewManualClock(start)
	if c.WaitTickers(1, time.Millisecond) {
		t.Fatal("WaitTickers found a ticker on a fresh clock")
	}
	made := make(chan core.Ticker)
	go func() { made <- c.NewTicker(10 * time.Second) }()
	if !c.WaitTickers(1, 5*time.Second) {
		t.Fatal("WaitTickers did not see the new ticker")
	}
	tk := <-made
	tick := func() (time.Time, bool) {
		select {
		case at := <-tk.C():
			return at, true
		default:
			return time.Time{}, false
		}
	}
	c.Advance(9 * time.Second)
	if at, ok := tick(); ok {
		t.Fatalf("ticked at %v before its period", at)
	}
	c.Advance(time.Second)
	if at, ok := tick(); !ok || !at.Equal(start.Add(10*time.Second)) {
		t.Fatalf("tick %v %v, want one at %v", at, ok, start.Add(10*time.Second))
	}
	// A jump over several periods gives one tick (a slow receiver misses
	// ticks, as with time.Ticker) and the next comes a period later.
	c.Advance(35 * time.Second)
	if _, ok := tick(); !ok {
		t.Fatal("no tick after a jump over three periods")
	}
	if _, ok := tick(); ok {
		t.Fatal("a jump over three periods queued more than one tick")
	}
	c.Advance(4 * time.Second) // 49 s: the next is due at 50 s
	if _, ok := tick(); ok {
		t.Fatal("ticked before the next period")
	}
	c.Advance(time.Second)
	if _, ok := tick(); !ok {
		t.Fatal("no tick at the next period")
	}
	tk.Stop()
	if n := c.Tickers(); n != 0 {
		t.Fatalf("%d tickers after Stop", n)
	}
	c.Advance(time.Minute)
	if _, ok := tick(); ok {
		t.Fatal("a stopped ticker ticked")
	}
}

func TestManualClockAfterFunc(t *testing.T) {
	t.Parallel()
	c := NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	fired := make(chan string, 4)
	after := func(name string, d time.Duration) func() bool {
		return c.AfterFunc(d, func() { fired <- name })
	}
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-fired:
			if got != want {
				t.Fatalf("fired %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not fire", want)
		}
	}
	none := func() {
		t.Helper()
		select {
		case got := <-fired:
			t.Fatalf("%s fired before its time", got)
		case <-time.After(10 * time.Millisecond):
		}
	}
	after("now", 0)
	expect("now")
	after("hour", time.Hour)
	stop := after("stopped", time.Minute)
	after("minute", time.Minute)
	if !stop() {
		t.Fatal("stop of a pending call answered false")
	}
	if stop() {
		t.Fatal("a second stop answered true")
	}
	c.Advance(time.Minute - time.Nanosecond)
	none()
	c.Advance(time.Nanosecond)
	expect("minute")
	none()
	c.Advance(time.Hour)
	expect("hour")
	none()
}
