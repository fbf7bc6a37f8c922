// Command quickstart publishes three messages that ask for success, retry
// and error, and runs a worker that handles them: the retried one is handled
// again and succeeds, the failed one ends in the dead-letter list.
//
// It runs on the in-memory backend with no server:
//
//	go run ./examples/quickstart
//
// and on Redis when REDIS_URL (or -redis) names one:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
)

// Task is the payload: it tells the handler what to answer.
type Task struct {
	Ask string `json:"ask"`
}

func main() {
	redisURL := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL; empty runs on the in-memory backend")
	queue := flag.String("queue", "quickstart", "queue name")
	flag.Parse()

	var b core.Backend
	if *redisURL != "" {
		opt, err := redis.ParseURL(*redisURL)
		if err != nil {
			log.Fatalf("quickstart: %v", err)
		}
		client := redis.NewClient(opt)
		defer client.Close()
		if b, err = redisqueue.New(client); err != nil {
			log.Fatalf("quickstart: %v", err)
		}
		fmt.Println("backend: redis at", opt.Addr)
	} else {
		mem, err := memqueue.New()
		if err != nil {
			log.Fatalf("quickstart: %v", err)
		}
		b = mem
		fmt.Println("backend: in memory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, b, *queue); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

// run is the whole story; main only picks the backend.
func run(ctx context.Context, out io.Writer, b core.Backend, queueName string) error {
	q := core.NewQueue(b, queueName)
	if err := q.Clear(ctx); err != nil { // a fresh start for the demo
		return err
	}

	// The publisher enqueues to any queue by name.
	if err := publishTasks(ctx, out, core.NewPublisher(b), queueName); err != nil {
		return err
	}

	// The worker is bound to one queue; its handler's dependencies (here
	// the output and a countdown of expected handlings) are given to the
	// function that makes it, so that a test can give its own.
	handled := make(chan struct{}, 8)
	h := taskHandler(out, handled)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := core.NewWorker(q, h, core.WithConcurrency(1), core.WithLogger(quiet))
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	for range 4 { // success, retry, error, and the retry's second attempt
		select {
		case <-handled:
		case <-ctx.Done():
			_ = w.Stop(context.Background())
			return ctx.Err()
		}
	}
	if err := w.Stop(ctx); err != nil {
		return err
	}

	st := w.Stats()
	fmt.Fprintf(out, "stopped cleanly: %d success, %d retry, %d error\n", st.Success, st.Retry, st.Error)
	dead, err := q.DeadLetters(ctx, 0, 10)
	if err != nil {
		return err
	}
	for _, d := range dead {
		fmt.Fprintf(out, "dead letter: %s after %d attempt(s): %s\n", d.ID, d.Attempt, d.Error)
	}
	stats, err := q.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "queue now: %d total, %d dead\n", stats.Total, stats.Dead)
	return nil
}

// publishTasks publishes one task of each kind to queue.
func publishTasks(ctx context.Context, out io.Writer, pub *core.Publisher, queue string) error {
	for _, ask := range []string{"success", "retry", "error"} {
		res, err := pub.Publish(ctx, queue, Task{Ask: ask}, core.WithID("task-"+ask))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "published %s (%s)\n", res.ID, res.Action)
	}
	return nil
}

// taskHandler answers what each task asks for (a retry only on the first
// attempt), prints what it did and signals each handling on handled (a
// nil channel: no signals).
func taskHandler(out io.Writer, handled chan<- struct{}) core.Handler {
	return core.Typed(func(ctx context.Context, t Task) core.Result {
		m := core.MessageFrom(ctx)
		var res core.Result
		switch {
		case t.Ask == "retry" && m.Attempt == 1:
			res = core.Retry(0)
		case t.Ask == "error":
			res = core.Fail(errors.New("asked to fail"))
		default:
			res = core.Success()
		}
		fmt.Fprintf(out, "handled %s attempt %d: %s\n", m.ID, m.Attempt, res)
		if handled != nil {
			handled <- struct{}{}
		}
		return res
	})
}
