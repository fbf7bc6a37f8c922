package queuetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/redghost/redghost/core"
)

var concurrencyCases = []testCase{
	{"ManyProducersAndConsumers", concManyProducersConsumers},
}

// Producers and consumers share one queue; with locks that never expire,
// every message is handled exactly once. Run it with -race.
func concManyProducersConsumers(c *checker) {
	const producers, perProducer, consumers = 4, 50, 4
	const total = producers * perProducer

	var (
		mu      sync.Mutex
		handled = map[string]int{}
		errs    []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(handled)
	}

	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				id := fmt.Sprintf("p%d-m%03d", p, i)
				res, err := c.b().Enqueue(c.ctx, []core.EnqueueRequest{c.req(id, id)})
				if err != nil {
					fail(err)
					return
				}
				if res[0].Err != nil || res[0].Action != core.Added {
					fail(fmt.Errorf("enqueue of %s: %v %v", id, res[0].Action, res[0].Err))
				}
			}
		})
	}
	for range consumers {
		wg.Go(func() {
			for count() < total && time.Now().Before(deadline) {
				res, err := c.b().Dequeue(c.ctx, core.DequeueParams{Queue: c.q, Max: 5, Lock: longLock})
				if err != nil {
					fail(err)
					return
				}
				if len(res.Messages) == 0 {
					if err := c.b().Wait(c.ctx, c.q, 20*time.Millisecond); err != nil {
						fail(err)
						return
					}
					continue
				}
				acks := make([]core.Ack, 0, len(res.Messages))
				mu.Lock()
				for _, d := range res.Messages {
					handled[d.ID]++
					if d.Attempt != 1 || string(d.Payload) != d.ID {
						errs = append(errs, fmt.Errorf("message %s: attempt %d payload %q", d.ID, d.Attempt, d.Payload))
					}
					acks = append(acks, ackOf(d, core.OutcomeSuccess, 0))
				}
				mu.Unlock()
				ackErrs, err := c.b().Ack(c.ctx, c.q, acks)
				if err != nil {
					fail(err)
					return
				}
				for i, err := range ackErrs {
					if err != nil {
						fail(fmt.Errorf("ack of %s: %w", acks[i].ID, err))
					}
				}
			}
		})
	}
	wg.Wait()

	for _, err := range errs {
		c.Error(err)
	}
	if len(handled) != total {
		c.Fatalf("handled %d distinct messages, want %d", len(handled), total)
	}
	for id, n := range handled {
		if n != 1 {
			c.Errorf("message %s handled %d times", id, n)
		}
	}
	c.nothing()
	c.wantStats(c.q, core.QueueStats{})
}
