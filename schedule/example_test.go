package schedule_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/schedule"
)

type Report struct {
	Kind string `json:"kind"`
}

// A periodic job: a scheduler enqueues a Report to "reports" on every slot
// of its schedule, and a worker handles it. Every process of a service may
// run the same scheduler: each slot is enqueued once. (On Redis, pass a
// redisqueue backend instead of memqueue.)
func Example() {
	backend, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}

	s, err := schedule.New(backend)
	if err != nil {
		log.Fatal(err)
	}
	// Every 100 ms; a cron spec such as "0 3 * * *" (with
	// schedule.WithTimeZone) works the same way.
	if err := s.Add("report", "@every 100ms", "reports", Report{Kind: "hourly"}); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	got := make(chan string, 10)
	w, err := core.NewWorker(core.NewQueue(backend, "reports"),
		core.Typed(func(ctx context.Context, r Report) core.Result {
			m := core.MessageFrom(ctx)
			slot, _ := schedule.SlotOf(m) // the slot's time, from its header
			select {
			case got <- fmt.Sprintf("%s report of schedule %q, on a 100 ms slot: %v",
				r.Kind, m.Headers[schedule.ScheduleHeader], slot.Equal(slot.Truncate(100*time.Millisecond))):
			default:
			}
			return core.Success()
		}))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)

	cancel()
	_ = w.Stop(context.Background())
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	// Output:
	// hourly report of schedule "report", on a 100 ms slot: true
}
