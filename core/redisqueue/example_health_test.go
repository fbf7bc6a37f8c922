package redisqueue_test

import (
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core/redisqueue"
)

// A backend that refuses to run on a Redis that may evict queue keys, and
// reads its view of Redis for metrics.
func ExampleWithEvictionCheck() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()
	b, err := redisqueue.New(client,
		redisqueue.WithEvictionCheck(redisqueue.EvictionRefuse), // Start, Enqueue, Dequeue answer ErrEvictionPolicy
		redisqueue.WithHealthCheckInterval(10*time.Second),
		redisqueue.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	)
	if err != nil {
		log.Fatal(err)
	}
	h := b.Health() // no round trip: what the last check saw
	fmt.Println(h.EvictionPolicy == "", h.Evicting, h.DataLosses)
	// Output: true false 0
}
