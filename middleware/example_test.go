package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/middleware"
)

// The first middleware in Chain is outermost: it sees the message first
// and the result last.
func ExampleChain() {
	say := func(name string) core.Middleware {
		return func(next core.Handler) core.Handler {
			return core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
				fmt.Println(name, "in")
				res := next.Handle(ctx, m)
				fmt.Println(name, "out:", res.Outcome)
				return res
			})
		}
	}
	h := middleware.Chain(say("logging"), say("recover"), say("retry"), say("breaker"), say("timeout"))(
		core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
			fmt.Println("handler", m.ID)
			return core.Success()
		}))
	h.Handle(context.Background(), &core.Message{ID: "m1", Queue: "q", Attempt: 1})
	// Output:
	// logging in
	// recover in
	// retry in
	// breaker in
	// timeout in
	// handler m1
	// timeout out: success
	// breaker out: success
	// retry out: success
	// recover out: success
	// logging out: success
}

// The recommended chain on a worker: a panic becomes an error outcome and a
// dead letter, a retry gets a backoff, and Logging writes one line for each.
func ExampleChain_recommended() {
	ctx := context.Background()
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	q := core.NewQueue(b, "emails")

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key { // not reproducible from run to run
			case slog.TimeKey, "duration", "stack":
				return slog.Attr{}
			}
			return a
		},
	}))
	retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(3),
		middleware.WithRetryBackoff(time.Millisecond, time.Millisecond),
		middleware.WithRetryJitter(func(n int64) int64 { return n - 1 }))
	if err != nil {
		log.Fatal(err)
	}
	timeout, err := middleware.Timeout(time.Second)
	if err != nil {
		log.Fatal(err)
	}
	breaker, err := middleware.CircuitBreaker(middleware.WithBreakerName("smtp"))
	if err != nil {
		log.Fatal(err)
	}
	h := middleware.Chain(
		middleware.Logging(logger),
		middleware.Recover(),
		retry,
		breaker,
		timeout,
	)(core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		switch {
		case string(m.Payload) == "poison":
			panic("cannot parse")
		case string(m.Payload) == "flaky" && m.Attempt == 1:
			return core.RetryErr(0, errors.New("smtp busy"))
		}
		return core.Success()
	}))

	pub := core.NewPublisher(b)
	_, _ = pub.Enqueue(ctx, "emails", []byte("poison"), core.WithID("a"))
	_, _ = pub.Enqueue(ctx, "emails", []byte("flaky"), core.WithID("b"))

	w, err := core.NewWorker(q, h, core.WithConcurrency(1), core.WithMaxWait(5*time.Millisecond), core.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	for st := w.Stats(); st.Success+st.Error < 2; st = w.Stats() {
		time.Sleep(time.Millisecond)
	}
	_ = w.Stop(ctx)

	dead, _ := q.DeadLetters(ctx, 0, 10)
	for _, d := range dead {
		// A panic's dead letter holds the error, then the stack.
		reason, stack, _ := strings.Cut(d.Error, "\n")
		fmt.Printf("dead letter %s %q: %s (stack: %t)\n", d.ID, d.Payload, reason, strings.Contains(stack, "ExampleChain_recommended"))
	}
	// Output:
	// level=ERROR msg="redghost: message failed" queue=emails id=a attempt=1 outcome=error error="redghost: handler panicked: cannot parse"
	// level=ERROR msg="redghost: handler panicked" queue=emails id=a attempt=1 panic="cannot parse"
	// level=WARN msg="redghost: message will be retried" queue=emails id=b attempt=1 outcome=retry backoff=1ms error="smtp busy"
	// dead letter a "poison": redghost: handler panicked: cannot parse (stack: true)
}

// A handler that ignores its context is abandoned at the deadline and the
// message is retried.
func ExampleTimeout() {
	timeout, err := middleware.Timeout(10*time.Millisecond, middleware.WithTimeoutBackoff(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	h := timeout(core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		time.Sleep(50 * time.Millisecond) // ignores ctx
		return core.Success()
	}))
	res := h.Handle(context.Background(), &core.Message{ID: "m1", Queue: "q", Attempt: 1})
	fmt.Println(res.Outcome, res.Backoff, errors.Is(res.Err, middleware.ErrTimeout))
	// Output: retry 1s true
}

type tenantCtxKey struct{}

// Publisher middleware: a tenant header taken from the context of every
// publish.
func ExampleSetHeaders() {
	ctx := context.WithValue(context.Background(), tenantCtxKey{}, "acme")
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}
	pub := core.NewPublisher(b, core.WithPublishMiddleware(
		middleware.SetHeaders(func(ctx context.Context) map[string]string {
			tenant, _ := ctx.Value(tenantCtxKey{}).(string)
			return map[string]string{"tenant": tenant}
		}),
	))
	_, _ = pub.Publish(ctx, "users.email", map[string]string{"body": "hi"}, core.WithID("m1"))

	msgs, _, _ := core.NewQueue(b, "users.email").Content(ctx, "", 10)
	fmt.Println(msgs[0].ID, msgs[0].Headers["tenant"])
	// Output: m1 acme
}
