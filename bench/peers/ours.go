package peers

import (
	"context"
	"log/slog"
	"os"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redis/go-redis/v9"
)

// Ours is Red Ghost's Redis backend with its defaults.
type Ours struct {
	rdb     *redis.Client
	counter *Counter
	pub     *core.Publisher
	b       *redisqueue.Backend
	log     *slog.Logger
}

// NewOurs connects Red Ghost to the server at addr.
func NewOurs(addr string) (System, error) {
	rdb, n := newClient(addr)
	// The harness flushes Redis between rows, which the backend's store
	// check would rightly report as lost queue data: not logged here.
	b, err := redisqueue.New(rdb, redisqueue.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return &Ours{rdb: rdb, counter: n, b: b, pub: core.NewPublisher(b),
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, nil
}

// Name is "ours".
func (o *Ours) Name() string { return "ours" }

// Counter counts our round trips.
func (o *Ours) Counter() *Counter { return o.counter }

// SupportsBatch is true: [core.Publisher.EnqueueBatch].
func (o *Ours) SupportsBatch() bool { return true }

// Enqueue enqueues one message with [core.Publisher.Enqueue].
func (o *Ours) Enqueue(ctx context.Context, queue string, payload []byte) error {
	_, err := o.pub.Enqueue(ctx, queue, payload)
	return err
}

// EnqueueBatch enqueues payloads with one [core.Publisher.EnqueueBatch].
func (o *Ours) EnqueueBatch(ctx context.Context, queue string, payloads [][]byte) error {
	return enqueueBatch(ctx, o.pub, queue, payloads)
}

func enqueueBatch(ctx context.Context, pub *core.Publisher, queue string, payloads [][]byte) error {
	reqs := make([]core.EnqueueRequest, len(payloads))
	for i, p := range payloads {
		reqs[i] = core.EnqueueRequest{Queue: queue, Payload: p}
	}
	res, err := pub.EnqueueBatch(ctx, reqs)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// StartWorker starts a [core.Worker] with its defaults but the concurrency.
func (o *Ours) StartWorker(ctx context.Context, queue string, concurrency int, h func([]byte)) (Worker, error) {
	return o.startWorker(ctx, queue, concurrency, h, nil)
}

// startWorker starts the worker with its handler wrapped in mw (none if nil).
func (o *Ours) startWorker(ctx context.Context, queue string, concurrency int, h func([]byte), mw core.Middleware) (Worker, error) {
	var handler core.Handler = core.HandlerFunc(func(_ context.Context, m *core.Message) core.Result {
		h(m.Payload)
		return core.Success()
	})
	if mw != nil {
		handler = mw(handler)
	}
	w, err := core.NewWorker(core.NewQueue(o.b, queue), handler, core.WithConcurrency(concurrency), core.WithLogger(o.log))
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// StartWorkerMany starts a [core.Pool] over queues, each of priority 1,
// with its defaults but the concurrency.
func (o *Ours) StartWorkerMany(ctx context.Context, queues []string, concurrency int, h func([]byte)) (Worker, error) {
	p, err := core.NewPool(o.b, core.WithConcurrency(concurrency), core.WithLogger(o.log))
	if err != nil {
		return nil, err
	}
	for _, q := range queues {
		if err := p.HandleFunc(q, func(_ context.Context, m *core.Message) core.Result {
			h(m.Payload)
			return core.Success()
		}); err != nil {
			return nil, err
		}
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Close closes the client.
func (o *Ours) Close() error { return o.rdb.Close() }
