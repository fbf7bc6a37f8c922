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
