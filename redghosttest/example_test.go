package redghosttest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"github.com/redghost/redghost/redghosttest"
)

// Signup is the payload of the examples' messages.
type Signup struct {
	Email string `json:"email"`
}

var errMailDown = errors.New("mail server down")

// Run one message through a handler in the application's chain and look
// at its result: no Redis, no worker, no sleep.
func ExampleEnv_Handle() {
	// In a test, t is the test's *testing.T.
	t := &testing.T{}

	env := redghosttest.New(t, redghosttest.WithMiddleware(middleware.Recover()))
	h := core.Typed(func(ctx context.Context, s Signup) core.Result {
		if s.Email == "" {
			panic("no email")
		}
		return core.RetryErr(time.Minute, errMailDown)
	})

	fmt.Println(env.Handle(h, env.Message("signups", Signup{Email: "ann@example.com"})))
	res := env.Handle(h, env.Message("signups", Signup{}))
	var p *core.PanicError
	fmt.Println(res.Outcome, errors.As(res.Err, &p), p.Value)
	// Output:
	// retry (backoff 1m0s): mail server down
	// error true no email
}

// Check what code under test enqueued, decoded, and that it enqueued
// nothing else.
func ExampleRequireEnqueued() {
	t := &testing.T{} // in a test, the test's *testing.T

	env := redghosttest.New(t)
	pub := env.Publisher(core.WithPublishMiddleware(middleware.SetHeaders(func(context.Context) map[string]string {
		return map[string]string{"tenant": "acme"}
	})))

	// The code under test.
	signUp := func(ctx context.Context, email string) error {
		_, err := pub.Publish(ctx, "signups", Signup{Email: email},
			core.WithID("signup-"+email), core.WithDelay(time.Minute))
		return err
	}
	if err := signUp(context.Background(), "ann@example.com"); err != nil {
		fmt.Println(err)
	}

	got := redghosttest.RequireEnqueued(env, redghosttest.Want[Signup]{
		Queue:   "signups",
		ID:      "signup-ann@example.com",
		Payload: Signup{Email: "ann@example.com"},
		Headers: map[string]string{"tenant": "acme"},
		Delay:   time.Minute,
	})
	env.RequireNothingElseEnqueued()
	fmt.Println(got.ID, got.Result.Action)
	// Output:
	// signup-ann@example.com added
}

// Drain a queue: retries come back after their backoffs as the clock is
// moved past them, and failures end as dead letters.
func ExampleEnv_Drain() {
	t := &testing.T{} // in a test, the test's *testing.T

	env := redghosttest.New(t)
	pub := env.Publisher()
	ctx := context.Background()
	for _, email := range []string{"ann@example.com", "flaky@example.com", "nobody"} {
		if _, err := pub.Publish(ctx, "signups", Signup{Email: email}, core.WithID(email)); err != nil {
			fmt.Println(err)
		}
	}
	h := core.Typed(func(ctx context.Context, s Signup) core.Result {
		m := core.MessageFrom(ctx)
		switch {
		case s.Email == "nobody":
			return core.Fail(errors.New("not an address"))
		case s.Email == "flaky@example.com" && m.Attempt < 3:
			return core.RetryErr(10*time.Minute, errMailDown)
		}
		return core.Success()
	})

	start := env.Clock().Now()
	for _, h := range env.Drain("signups", h) {
		fmt.Printf("+%v %s\n", h.At.Sub(start), h)
	}
	dead, _ := env.Backend().DeadLetters(ctx, "signups", 0, 10)
	fmt.Println("dead letters:", len(dead), dead[0].ID, dead[0].Error)
	// Output:
	// +0s ann@example.com attempt 1: success
	// +0s flaky@example.com attempt 1: retry (backoff 10m0s): mail server down
	// +0s nobody attempt 1: error: not an address
	// +10m0s flaky@example.com attempt 2: retry (backoff 10m0s): mail server down
	// +20m0s flaky@example.com attempt 3: success
	// dead letters: 1 nobody not an address
}
