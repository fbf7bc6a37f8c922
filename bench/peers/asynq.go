package peers

import (
	"context"
	"log"
	"os"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Asynq is hibiken/asynq v0.26.0 with its defaults, on a client with the
// same options as ours.
type Asynq struct {
	rdb     *redis.Client
	counter *Counter
	client  *asynq.Client
}

// NewAsynq connects asynq to the server at addr.
func NewAsynq(addr string) *Asynq {
	rdb, n := newClient(addr)
	return &Asynq{rdb: rdb, counter: n, client: asynq.NewClientFromRedisClient(rdb)}
}

// Name is "asynq".
func (a *Asynq) Name() string { return "asynq" }

// Counter counts asynq's round trips.
func (a *Asynq) Counter() *Counter { return a.counter }

const asynqTaskType = "bench"

// Enqueue enqueues one task.
func (a *Asynq) Enqueue(ctx context.Context, queue string, payload []byte) error {
	_, err := a.client.EnqueueContext(ctx, asynq.NewTask(asynqTaskType, payload), asynq.Queue(queue))
	return err
}

// SupportsBatch is false: asynq enqueues one task per call.
func (a *Asynq) SupportsBatch() bool { return false }

// EnqueueBatch: asynq has no batch enqueue.
func (a *Asynq) EnqueueBatch(context.Context, string, [][]byte) error { return errNoBatch }

// StartWorker starts an asynq server on queue with asynq's defaults but
// the concurrency and a quiet logger.
func (a *Asynq) StartWorker(ctx context.Context, queue string, concurrency int, h func([]byte)) (Worker, error) {
	return a.StartWorkerMany(ctx, []string{queue}, concurrency, h)
}

// StartWorkerMany starts one asynq server on all of queues, each of
// weight 1, with asynq's defaults but the concurrency and a quiet logger.
func (a *Asynq) StartWorkerMany(_ context.Context, queues []string, concurrency int, h func([]byte)) (Worker, error) {
	weights := make(map[string]int, len(queues))
	for _, q := range queues {
		weights[q] = 1
	}
	srv := asynq.NewServerFromRedisClient(a.rdb, asynq.Config{
		Concurrency: concurrency,
		Queues:      weights,
		Logger:      asynqLogger{log.New(os.Stderr, "asynq: ", log.LstdFlags)},
		LogLevel:    asynq.WarnLevel,
	})
	err := srv.Start(asynq.HandlerFunc(func(_ context.Context, t *asynq.Task) error {
		h(t.Payload())
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return asynqWorker{srv}, nil
}

type asynqWorker struct{ srv *asynq.Server }

func (w asynqWorker) Stop(context.Context) error { w.srv.Shutdown(); return nil }

// Close closes the client and its connections.
func (a *Asynq) Close() error {
	_ = a.client.Close()
	return a.rdb.Close()
}

type asynqLogger struct{ l *log.Logger }

func (l asynqLogger) Debug(args ...any) { l.l.Println(append([]any{"DEBUG"}, args...)...) }
func (l asynqLogger) Info(args ...any)  { l.l.Println(append([]any{"INFO"}, args...)...) }
func (l asynqLogger) Warn(args ...any)  { l.l.Println(append([]any{"WARN"}, args...)...) }
func (l asynqLogger) Error(args ...any) { l.l.Println(append([]any{"ERROR"}, args...)...) }
func (l asynqLogger) Fatal(args ...any) { l.l.Fatalln(append([]any{"FATAL"}, args...)...) }
