package core_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/redisqueue"
)

// Email is what the users.email queue carries.
type Email struct {
	UserID string `json:"user_id"`
	Body   string `json:"body"`
}

// SMTP is the mailer's dependency; a test gives it a fake.
type SMTP interface {
	Send(ctx context.Context, to, body string) error
}

// Mailer is a handler with its dependencies in its struct.
type Mailer struct{ smtp SMTP }

// Send handles one email: an SMTP failure asks for the message again in a
// minute, and that answer carries the error (a circuit breaker counts it).
func (m *Mailer) Send(ctx context.Context, e Email) core.Result {
	if err := m.smtp.Send(ctx, e.UserID, e.Body); err != nil {
		return core.RetryErr(time.Minute, err)
	}
	return core.Success()
}

// openRedis opens the Redis backend, as a service does.
func openRedis(addr string) (core.Backend, error) {
	return redisqueue.New(redis.NewClient(&redis.Options{Addr: addr}))
}

// printSMTP hands what it sends to the example.
type printSMTP struct{ sent chan string }

func (p printSMTP) Send(_ context.Context, to, body string) error {
	p.sent <- fmt.Sprintf("to %s: %s", to, body)
	return nil
}

// The publisher and a worker of one queue, with the handler's dependencies
// injected. The in-memory backend runs it here; openRedis is the same on
// Redis.
func Example_use() {
	ctx := context.Background()
	_ = openRedis // on Redis: b, err := openRedis("localhost:6379")
	b, err := memqueue.New()
	if err != nil {
		log.Fatal(err)
	}

	// Publish to any queue by name; values go through a codec (JSON by
	// default), []byte goes as is.
	pub := core.NewPublisher(b)
	res, err := pub.Publish(ctx, "users.email", Email{UserID: "abc", Body: "hi!"})
	if err != nil {
		log.Fatal(err)
	}

	// A worker is bound to one queue; its handler gets its dependencies
	// from the struct it lives in.
	sent := make(chan string, 1)
	mailer := &Mailer{smtp: printSMTP{sent: sent}}
	w, err := core.NewWorker(core.NewQueue(b, "users.email"), core.Typed(mailer.Send),
		core.WithConcurrency(20))
	if err != nil {
		log.Fatal(err) // a bad option, named: nothing started
	}
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Action, <-sent)

	// Stop waits for in-flight handlers; past its deadline it cancels
	// them, keeps their last answers, and returns ctx.Err().
	shutdown, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Stop(shutdown); err != nil {
		log.Fatal(err)
	}
	// Output:
	// added to abc: hi!
}
