package metrics

import (
	"errors"
	"fmt"
	"math"

	"github.com/redghost/redghost/core"
)

// validate checks the options once, in New. Each error is a
// *core.InvalidError whose Field names the option.
func (c *config) validate() error {
	var errs []error
	bad := func(option, format string, args ...any) {
		errs = append(errs, &core.InvalidError{Field: option, Reason: fmt.Sprintf(format, args...)})
	}
	if c.namespace == "" {
		bad("WithNamespace", "the namespace is empty")
	}
	if c.maxQueues < 1 {
		bad("WithMaxQueues", "must be at least 1, got %d", c.maxQueues)
	}
	if c.clock == nil {
		bad("WithClock", "the clock is nil")
	}
	if c.logger == nil {
		bad("WithLogger", "the logger is nil")
	}
	if c.scrapeTimeout <= 0 {
		bad("WithScrapeTimeout", "must be positive, got %v", c.scrapeTimeout)
	}
	for option, b := range map[string][]float64{"WithHandleBuckets": c.handleBuckets, "WithQueueingBuckets": c.queueingBuckets} {
		for i, v := range b {
			if math.IsNaN(v) || (i > 0 && v <= b[i-1]) {
				bad(option, "the buckets must be increasing numbers, got %v", b)
				break
			}
		}
	}
	return errors.Join(errs...)
}
