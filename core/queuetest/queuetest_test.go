package queuetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

var _ core.Clock = (*ManualClock)(nil)

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
