// Command email sends emails from a queue through the recommended
// middleware chain, on the in-memory backend with no server:
//
//	go run ./examples/email
//
// The worker's handler gets its dependencies, a user store and a mailer,
// injected; both are in-memory here, with faults to order. The story it
// prints on standard output: welcome emails go out; messages that can
// never succeed (an unknown user, a corrupt user record that makes the
// handler panic, a payload that does not decode) end in the dead-letter
// list; an SMTP outage opens the circuit breaker, the emails wait without
// using up their attempts, and go out when it closes; a send that hangs is
// abandoned at its timeout and retried. Log lines go to standard error:
// warnings only, every handling with -v. It takes no arguments; a bad flag
// or an argument is refused with the usage, exit status 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/middleware"
)

// Email is the payload of the users.email queue.
type Email struct {
	UserID string
	Body   string
}

const queue = "users.email"

// Timings, short so that the story takes about a second.
const (
	sendTimeout = 150 * time.Millisecond
	breakerOpen = 200 * time.Millisecond
	maxAttempts = 5
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli parses the command line and tells the story; it answers the exit
// status: 0 told, 1 failed, 2 bad command line.
func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("email", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: email [-v]\n\nTells the story of an email queue on the in-memory backend.")
		fs.PrintDefaults()
	}
	verbose := fs.Bool("v", false, "log every handling on standard error, not only warnings")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // the flag package printed the error and the usage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "email: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, stdout, logger); err != nil {
		fmt.Fprintln(stderr, "email:", err)
		return 1
	}
	return 0
}

// emailHandler sends one email. Its dependencies are injected.
type emailHandler struct {
	users UserStore
	mail  Mailer
}

func (h *emailHandler) handle(ctx context.Context, e Email) core.Result {
	u, err := h.users.User(ctx, e.UserID)
	if errors.Is(err, ErrNoUser) {
		return core.Fail(fmt.Errorf("user %q: %w", e.UserID, err)) // never succeeds
	}
	if err != nil {
		return core.RetryErr(0, err)
	}
	if err := h.mail.Send(ctx, u.Address, e.Body); err != nil { // u may be nil: a bug, and Recover's case
		return core.RetryErr(0, fmt.Errorf("send to %s: %w", u.Address, err))
	}
	return core.Success()
}

type tenantKey struct{}

// run tells the story on out; logs go to logger.
func run(ctx context.Context, out io.Writer, logger *slog.Logger) error {
	b, err := memqueue.New()
	if err != nil {
		return err
	}
	q := core.NewQueue(b, queue)

	users := memUsers{
		"ann":  {ID: "ann", Name: "Ann", Address: "ann@example.com"},
		"bob":  {ID: "bob", Name: "Bob", Address: "bob@example.com"},
		"carl": {ID: "carl", Name: "Carl", Address: "carl@example.com"},
		"eve":  nil, // a corrupt record
	}
	mailer := &memMailer{}
	app := &emailHandler{users: users, mail: mailer}

	// The breaker reports its state changes; the story prints them.
	states := make(chan string, 16)
	breaker, err := middleware.CircuitBreaker(
		middleware.WithBreakerName("smtp"),
		middleware.WithBreakerOpenTimeout(breakerOpen),
		middleware.WithBreakerReadyToTrip(func(c middleware.BreakerCounts) bool { return c.ConsecutiveFailures >= 3 }),
		// Only the mail server's trouble trips it: an unknown user or
		// a bad payload says nothing about the mail server.
		middleware.WithBreakerIsFailure(func(_ context.Context, res core.Result) bool {
			return errors.Is(res.Err, ErrSMTPDown) || errors.Is(res.Err, middleware.ErrTimeout)
		}),
		middleware.WithBreakerOnStateChange(func(name string, from, to middleware.BreakerState) {
			states <- fmt.Sprintf("breaker %s: %s -> %s", name, from, to)
		}),
	)
	if err != nil {
		return err
	}
	late := make(chan core.Result, 1)
	retry, err := middleware.Retry(
		middleware.WithRetryMaxAttempts(maxAttempts),
		middleware.WithRetryBackoff(10*time.Millisecond, 50*time.Millisecond),
	)
	if err != nil {
		return err
	}
	timeout, err := middleware.Timeout(sendTimeout,
		middleware.WithTimeoutOnLateResult(func(_ *core.Message, r core.Result) { late <- r }))
	if err != nil {
		return err
	}
	chain := middleware.Chain(
		middleware.Logging(logger),
		middleware.Recover(middleware.WithRecoverLogger(logger)),
		retry,
		breaker,
		timeout,
	)
	w, err := core.NewWorker(q, chain(core.Typed(app.handle)),
		core.WithConcurrency(1), // one at a time, so the story reads in order
		core.WithMaxWait(20*time.Millisecond),
		core.WithLogger(logger))
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = w.Stop(context.Background()) }()

	// The publisher stamps every message with the tenant of its context.
	pub := core.NewPublisher(b, core.WithPublishMiddleware(tenantHeader()))
	ctx = context.WithValue(ctx, tenantKey{}, "acme")
	published := 0
	publish := func(id string, payload any) error {
		published++
		if _, err := pub.Publish(ctx, queue, payload, core.WithID(id)); err != nil {
			return fmt.Errorf("publish %s: %w", id, err)
		}
		return nil
	}
	// settle waits until every message published so far has its final
	// outcome (success or error).
	settle := func() error {
		for st := w.Stats(); st.Success+st.Error < int64(published); st = w.Stats() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %d outcomes, have %d: %w", published, st.Success+st.Error, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
		return nil
	}
	printSent := func() {
		for _, s := range mailer.drain() {
			fmt.Fprintln(out, "  sent", s)
		}
	}
	printStates := func() {
		for {
			select {
			case s := <-states:
				fmt.Fprintln(out, " ", s)
			default:
				return
			}
		}
	}

	fmt.Fprintln(out, "1. welcome emails")
	for _, u := range []string{"ann", "bob"} {
		if err := publish("welcome-"+u, Email{UserID: u, Body: "Welcome, " + users[u].Name + "!"}); err != nil {
			return err
		}
	}
	if err := settle(); err != nil {
		return err
	}
	printSent()

	fmt.Fprintln(out, "2. messages that can never succeed")
	if err := publish("welcome-zed", Email{UserID: "zed", Body: "Welcome!"}); err != nil {
		return err
	}
	if err := publish("welcome-eve", Email{UserID: "eve", Body: "Welcome!"}); err != nil {
		return err
	}
	if err := publish("garbage", []byte("not json")); err != nil {
		return err
	}
	if err := settle(); err != nil {
		return err
	}
	dead, err := q.DeadLetters(ctx, 0, 10)
	if err != nil {
		return err
	}
	for i := len(dead) - 1; i >= 0; i-- { // oldest first
		d := dead[i]
		reason, _, _ := strings.Cut(d.Error, "\n") // a panic's stack follows its first line
		fmt.Fprintf(out, "  dead letter %s (attempt %d, tenant %s): %s\n", d.ID, d.Attempt, d.Headers["tenant"], reason)
	}

	fmt.Fprintln(out, "3. the SMTP server goes down for three sends")
	mailer.failSends(3)
	for i, u := range []string{"ann", "bob", "carl", "ann", "bob"} {
		if err := publish(fmt.Sprintf("news-%d", i), Email{UserID: u, Body: fmt.Sprintf("News #%d", i)}); err != nil {
			return err
		}
	}
	if err := settle(); err != nil {
		return err
	}
	printStates()
	printSent()
	fmt.Fprintln(out, "  (the handlings the open breaker turned away did not count as attempts)")

	fmt.Fprintln(out, "4. a send that hangs")
	started, release := mailer.hangSendTo("carl@example.com")
	defer release()
	if err := publish("reminder-carl", Email{UserID: "carl", Body: "Don't forget!"}); err != nil {
		return err
	}
	<-started
	if err := settle(); err != nil {
		return err
	}
	printSent()
	release()
	r := <-late
	fmt.Fprintf(out, "  the hung send returned late (%s), ignored\n", r)
	printStates()

	st := w.Stats()
	dead, err = q.DeadLetters(ctx, 0, 100)
	if err != nil {
		return err
	}
	qs, err := q.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "published %d: %d sent, %d dead letters, %d waiting\n",
		published, st.Success, len(dead), qs.Queued+qs.Locked+qs.Backoff)
	return w.Stop(ctx)
}

// tenantHeader is the publish middleware that stamps each message with
// the tenant of its context.
func tenantHeader() core.PublishMiddleware {
	return middleware.SetHeaders(func(ctx context.Context) map[string]string {
		tenant, _ := ctx.Value(tenantKey{}).(string)
		return map[string]string{"tenant": tenant}
	})
}
