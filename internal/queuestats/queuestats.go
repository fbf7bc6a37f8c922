// Package queuestats reads the counts of many queues, a few at a time: the
// command line and the web UI list queues alike.
package queuestats

import (
	"context"
	"sync"

	"github.com/redghost/redghost/core"
)

// Parallel bounds the calls in flight for one reading.
const Parallel = 8

// Read calls stats for every queue, at most [Parallel] at a time, and
// answers the counts in the order of queues, or the error of the first
// queue (in that order) whose call failed.
func Read(ctx context.Context, queues []string, stats func(ctx context.Context, queue string) (core.QueueStats, error)) ([]core.QueueStats, error) {
	out := make([]core.QueueStats, len(queues))
	errs := make([]error, len(queues))
	sem := make(chan struct{}, Parallel)
	var wg sync.WaitGroup
	for i, q := range queues {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = stats(ctx, q)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
