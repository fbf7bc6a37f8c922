package core_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"sync"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
)

// One pool serves three queues with one budget of handlers. With a
// backlog in all three, a queue of priority 3 is handled three times as
// often as one of priority 1, and none starves. (One handler and no
// prefetch make the order exact, for the output.)
func ExamplePool() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b)
	for _, queue := range []string{"critical", "default", "low"} {
		for range 4 {
			if _, err := pub.Enqueue(ctx, queue, []byte("job")); err != nil {
				log.Fatal(err)
			}
		}
	}

	var mu sync.Mutex
	var order []string
	var handled sync.WaitGroup
	handled.Add(12)
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		order = append(order, m.Queue)
		mu.Unlock()
		handled.Done()
		return core.Success()
	})

	p, err := core.NewPool(b, core.WithConcurrency(1), core.WithPrefetch(0))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("critical", h, core.WithPriority(3)); err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("default", h, core.WithPriority(2)); err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("low", h); err != nil { // priority 1
		log.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	handled.Wait()
	if err := p.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(order, " "))
	fmt.Println("critical handled:", p.Stats()["critical"].Success)
	// Output:
	// critical default low critical default critical critical default low default low low
	// critical handled: 4
}

// With strict priorities a queue is served only while every queue of a
// higher priority is empty.
func ExampleWithStrictPriority() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b)
	for _, queue := range []string{"low", "default", "critical"} {
		for range 3 {
			if _, err := pub.Enqueue(ctx, queue, []byte("job")); err != nil {
				log.Fatal(err)
			}
		}
	}

	var mu sync.Mutex
	var order []string
	var handled sync.WaitGroup
	handled.Add(9)
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		mu.Lock()
		order = append(order, m.Queue)
		mu.Unlock()
		handled.Done()
		return core.Success()
	})

	p, err := core.NewPool(b, core.WithStrictPriority(), core.WithConcurrency(1))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("critical", h, core.WithPriority(3)); err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("default", h, core.WithPriority(2)); err != nil {
		log.Fatal(err)
	}
	if err := p.Handle("low", h); err != nil {
		log.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	handled.Wait()
	if err := p.Stop(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(order, " "))
	// Output:
	// critical critical critical default default default low low low
}
