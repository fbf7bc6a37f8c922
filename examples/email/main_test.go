package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/middleware"
	"github.com/redghost/redghost/redghosttest"
)

// The story is the same on every run: the test runs main's logic and
// checks what it prints.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, slog.New(slog.DiscardHandler)); err != nil {
		panic(err)
	}
	// Output:
	// 1. welcome emails
	//   sent to ann@example.com: "Welcome, Ann!" (attempt 1)
	//   sent to bob@example.com: "Welcome, Bob!" (attempt 1)
	// 2. messages that can never succeed
	//   dead letter welcome-zed (attempt 1, tenant acme): user "zed": no such user
	//   dead letter welcome-eve (attempt 1, tenant acme): redghost: handler panicked: runtime error: invalid memory address or nil pointer dereference
	//   dead letter garbage (attempt 1, tenant acme): redghost: queue "users.email" message "garbage": payload does not decode into main.Email: invalid character 'o' in literal null (expecting 'u')
	// 3. the SMTP server goes down for three sends
	//   breaker smtp: closed -> open
	//   breaker smtp: open -> half-open
	//   breaker smtp: half-open -> closed
	//   sent to ann@example.com: "News #0" (attempt 2)
	//   sent to ann@example.com: "News #3" (attempt 1)
	//   sent to bob@example.com: "News #1" (attempt 2)
	//   sent to bob@example.com: "News #4" (attempt 1)
	//   sent to carl@example.com: "News #2" (attempt 2)
	//   (the handlings the open breaker turned away did not count as attempts)
	// 4. a send that hangs
	//   sent to carl@example.com: "Don't forget!" (attempt 2)
	//   the hung send returned late (retry: send to carl@example.com: smtp: connection reset), ignored
	// published 11: 8 sent, 3 dead letters, 0 waiting
}

// The handler's answers of the story's part 2 (messages that can never
// succeed), one message at a time through the Recover middleware, with
// the test helpers: no worker, no sleep.
func TestEmailHandler(t *testing.T) {
	users := memUsers{"ann": {ID: "ann", Name: "Ann", Address: "ann@example.com"}, "eve": nil}
	mailer := &memMailer{}
	h := core.Typed((&emailHandler{users: users, mail: mailer}).handle)
	env := redghosttest.New(t, redghosttest.WithMiddleware(middleware.Recover()))

	if res := env.Handle(h, env.Message(queue, Email{UserID: "ann", Body: "Hi"})); res != core.Success() {
		t.Errorf("ann: %v, want success", res)
	}
	if sent := mailer.drain(); len(sent) != 1 || sent[0] != `to ann@example.com: "Hi" (attempt 1)` {
		t.Errorf("sent %q", sent)
	}

	res := env.Handle(h, env.Message(queue, Email{UserID: "zed"}))
	if res.Outcome != core.OutcomeError || !errors.Is(res.Err, ErrNoUser) {
		t.Errorf("an unknown user: %v, want an error outcome for ErrNoUser", res)
	}
	res = env.Handle(h, env.Message(queue, Email{UserID: "eve"}))
	var p *core.PanicError
	if res.Outcome != core.OutcomeError || !errors.As(res.Err, &p) {
		t.Errorf("a corrupt user record: %v, want the panic as an error outcome", res)
	}
	var de *core.DecodeError
	if res := env.Handle(h, env.Message(queue, []byte("not json"))); !errors.As(res.Err, &de) {
		t.Errorf("garbage: %v, want a decode error", res)
	}
}

// The publisher stamps the tenant of the context on every message.
func TestPublisherStampsTenant(t *testing.T) {
	env := redghosttest.New(t)
	pub := env.Publisher(core.WithPublishMiddleware(tenantHeader()))
	ctx := context.WithValue(t.Context(), tenantKey{}, "acme")
	if _, err := pub.Publish(ctx, queue, Email{UserID: "ann", Body: "Hi"}, core.WithID("welcome-ann")); err != nil {
		t.Fatal(err)
	}
	redghosttest.RequireEnqueued(env, redghosttest.Want[Email]{
		Queue:   queue,
		ID:      "welcome-ann",
		Payload: Email{UserID: "ann", Body: "Hi"},
		Headers: map[string]string{"tenant": "acme"},
	})
	env.RequireNothingElseEnqueued()
}
