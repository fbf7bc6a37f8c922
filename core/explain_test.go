package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// explainWant checks one Explain answer: its state word and, in order,
// a piece of text each sentence must hold.
func explainWant(t *testing.T, b core.Backend, queue, id, state string, parts ...string) core.Explanation {
	t.Helper()
	e, err := core.Explain(t.Context(), b, queue, id)
	if err != nil {
		t.Fatalf("Explain(%q, %q): %v", queue, id, err)
	}
	if e.State() != state {
		t.Errorf("Explain(%q, %q): state %q, want %q; why: %q", queue, id, e.State(), state, e.Why)
	}
	if len(e.Why) != len(parts) {
		t.Fatalf("Explain(%q, %q): %d sentences, want %d: %q", queue, id, len(e.Why), len(parts), e.Why)
	}
	for i, p := range parts {
		if !strings.Contains(e.Why[i], p) {
			t.Errorf("Explain(%q, %q): sentence %d is %q, want it to hold %q", queue, id, i, e.Why[i], p)
		}
	}
	return e
}

func TestExplain(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		b := env.b
		pub := core.NewPublisher(b)
		enqueue := func(id string, opts ...core.EnqueueOption) {
			t.Helper()
			r, err := pub.Enqueue(ctx, "q", []byte("p-"+id), append(opts, core.WithID(id), core.WithHeader("h", "v"))...)
			if err != nil || r.Err != nil {
				t.Fatalf("enqueue %q: %v %v", id, err, r.Err)
			}
		}
		take := func(id string, lock time.Duration) core.Delivery {
			t.Helper()
			res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: lock})
			if err != nil || len(res.Messages) != 1 || res.Messages[0].ID != id {
				t.Fatalf("dequeue for %q: %v %+v", id, err, res.Messages)
			}
			return res.Messages[0]
		}
		ack := func(d core.Delivery, o core.Outcome, backoff time.Duration, msg string) {
			t.Helper()
			errs, err := b.Ack(ctx, "q", []core.Ack{{ID: d.ID, Token: d.Token, Outcome: o, Backoff: backoff, Error: msg}})
			if err != nil || errs[0] != nil {
				t.Fatalf("ack %q: %v %v", d.ID, err, errs)
			}
		}

		explainWant(t, b, "q", "nosuch", "none", "Not in the queue: never enqueued")

		enqueue("a")
		e := explainWant(t, b, "q", "a", "queued", "Queued: waiting for a handler")
		if e.Message == nil || string(e.Message.Payload) != "p-a" || e.Message.Headers["h"] != "v" || e.Dead != nil {
			t.Fatalf("queued a: message %+v dead %+v", e.Message, e.Dead)
		}

		da := take("a", 30*time.Second)
		explainWant(t, b, "q", "a", "locked",
			"Locked by a handler (attempt 1); the lock expires in 30 s unless its heartbeat extends it.",
			"queued again")
		enqueue("a", core.WithRequeue())
		explainWant(t, b, "q", "a", "locked-with-requeue", "Locked by a handler", "queued again",
			"A newer copy is queued once the handler is done.")
		ack(da, core.OutcomeSuccess, 50*time.Second, "")
		explainWant(t, b, "q", "a", "done-with-requeue", "Done; a newer copy is waiting and is queued after the hold of 50 s more.")

		enqueue("late", core.WithDelay(3*time.Second))
		explainWant(t, b, "q", "late", "queued-with-backoff", "Waiting for its initial delay, due in 3 s")

		enqueue("held")
		ack(take("held", time.Minute), core.OutcomeSuccess, 50*time.Second, "")
		explainWant(t, b, "q", "held", "done-with-backoff", "Done, held 50 s more so enqueues of this id are refused as backoff")

		enqueue("retry")
		ack(take("retry", time.Minute), core.OutcomeRetry, 4*time.Second, "")
		explainWant(t, b, "q", "retry", "queued-with-backoff", "Waiting for its backoff, due in 4 s; then it is handled again, as attempt 2.")

		enqueue("bad")
		ack(take("bad", time.Minute), core.OutcomeError, 0, "boom\n  at line 2")
		e = explainWant(t, b, "q", "bad", "dead", "Not in the queue any more: it failed and is kept as a dead letter.",
			"Dead letter: failed at ", "It stays in the dead-letter list until it is requeued")
		if !strings.HasSuffix(e.Why[1], "after once with the error: boom | at line 2") {
			t.Errorf("dead letter sentence %q", e.Why[1])
		}
		if e.Dead == nil || e.Dead.Error != "boom\n  at line 2" || e.Message != nil {
			t.Fatalf("dead letter %+v, message %+v", e.Dead, e.Message)
		}
		enqueue("bad") // live again, and still a dead letter
		explainWant(t, b, "q", "bad", "queued", "Queued", "Dead letter: failed at ", "waits until the live message")
		take("bad", time.Minute) // the live copy of bad, out of the way
		enqueue("stalled")
		take("stalled", 200*time.Millisecond)
		env.pass(300 * time.Millisecond) // the lock expires: queued again
		explainWant(t, b, "q", "stalled", "queued", "Queued: waiting for a handler",
			"Handled once before without success (a retry without backoff, or a lock that expired before its handler answered); the next handling is attempt 2.")

		if err := b.ClearQueues(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		explainWant(t, b, "q", "bad", "none", "Not in the queue: never enqueued") // clear takes the dead letters too
	})
}

// Explain finds a dead letter past the first page of the list, on a
// backend without DeadLettersByID too.
func TestExplainPagesDeadLetters(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		var reqs []core.EnqueueRequest
		for i := range 1500 {
			reqs = append(reqs, core.EnqueueRequest{Queue: "q", ID: fmt.Sprintf("m%04d", i), Payload: []byte("x")})
		}
		if _, err := env.b.Enqueue(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		var first string // the oldest dead letter: last of the list
		for n := 0; n < 1500; {
			res, err := env.b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 500, Lock: time.Minute})
			if err != nil || len(res.Messages) == 0 {
				t.Fatalf("dequeue: %v, %d messages", err, len(res.Messages))
			}
			if first == "" {
				first = res.Messages[0].ID
			}
			acks := make([]core.Ack, len(res.Messages))
			for i, d := range res.Messages {
				acks[i] = core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "e-" + d.ID}
			}
			if _, err := env.b.Ack(ctx, "q", acks); err != nil {
				t.Fatal(err)
			}
			n += len(res.Messages)
		}
		e, err := core.Explain(ctx, onlyInspector{env.b}, "q", first)
		if err != nil {
			t.Fatal(err)
		}
		if e.Dead == nil || e.Dead.Error != "e-"+first {
			t.Fatalf("dead letter of %q: %+v", first, e.Dead)
		}
	})
}

// onlyInspector hides every method but the Inspector's.
type onlyInspector struct{ core.Inspector }

func TestExplainRefusesBadInput(t *testing.T) {
	b := newMem(t)
	for _, c := range []struct{ queue, id, field string }{{"", "x", "queue"}, {"q", "", "id"}} {
		_, err := core.Explain(context.Background(), b, c.queue, c.id)
		var ie *core.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("Explain(%q, %q): %v, want an *InvalidError", c.queue, c.id, err)
		}
	}
}

func TestPlain(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                          "0 s",
		0:                                     "0 s",
		850 * time.Millisecond:                "850 ms",
		12*time.Second + 400*time.Millisecond: "12 s",
		2*time.Minute + 5*time.Second:         "2 min 5 s",
		3 * time.Minute:                       "3 min",
		3*time.Hour + 20*time.Minute:          "3 h 20 min",
		50*time.Hour + 10*time.Minute:         "2 d 2 h",
	} {
		if got := core.Plain(d); got != want {
			t.Errorf("Plain(%s) = %q, want %q", d, got, want)
		}
	}
}

// Explain finds a live message past the first page of the content on a
// backend without MessageInfo, and answers what MessageInfo answers.
func TestExplainPagesContent(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		var reqs []core.EnqueueRequest
		for i := range 1500 {
			reqs = append(reqs, core.EnqueueRequest{Queue: "q", ID: fmt.Sprintf("m%04d", i), Payload: []byte(fmt.Sprint(i))})
		}
		if _, err := env.b.Enqueue(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"m0000", "m0999", "m1000", "m1499"} {
			paged, err := core.Explain(ctx, onlyInspector{env.b}, "q", id)
			if err != nil {
				t.Fatal(err)
			}
			direct, err := core.Explain(ctx, env.b, "q", id)
			if err != nil {
				t.Fatal(err)
			}
			if paged.Message == nil || direct.Message == nil || paged.Message.ID != id ||
				string(paged.Message.Payload) != string(direct.Message.Payload) || paged.State() != "queued" ||
				strings.Join(paged.Why, "\n") != strings.Join(direct.Why, "\n") {
				t.Fatalf("%s: paged %+v, direct %+v", id, paged, direct)
			}
		}
	})
}

// Explain says when a locked message was cancelled (it is not handled
// again when its lock expires) and what a message's own limits are.
func TestExplainCanceledAndLimits(t *testing.T) {
	onBackends(t, func(t *testing.T, env backendEnv) {
		ctx := t.Context()
		b := env.b
		pub := core.NewPublisher(b)
		enqueue := func(id string, opts ...core.EnqueueOption) {
			t.Helper()
			r, err := pub.Enqueue(ctx, "q", []byte("p"), append(opts, core.WithID(id))...)
			if err != nil || r.Err != nil {
				t.Fatalf("enqueue %q: %v %v", id, err, r.Err)
			}
		}
		enqueue("lim", core.WithMaxAttempts(3), core.WithHandlingTimeout(90*time.Second))
		explainWant(t, b, "q", "lim", "queued", "Queued",
			"Its own limits: at most 3 handlings (Retry middleware turns a retry on the last one into a failure, over its own bound); each handling gets 1 min 30 s (Timeout middleware uses it over its own).")
		enqueue("to", core.WithHandlingTimeout(time.Second), core.WithDelay(time.Minute))
		e := explainWant(t, b, "q", "to", "queued-with-backoff", "initial delay", "Its own limits: each handling gets 1 s")
		if strings.Contains(e.Why[1], "handlings") {
			t.Errorf("a timeout alone: %q", e.Why[1])
		}

		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute})
		if err != nil || len(res.Messages) != 1 || res.Messages[0].ID != "lim" {
			t.Fatalf("dequeue: %v %+v", err, res.Messages)
		}
		explainWant(t, b, "q", "lim", "locked", "Locked by a handler", "queued again", "Its own limits: at most 3 handlings")
		if st, err := b.CancelMessage(ctx, "q", "lim"); err != nil || st != core.StatusLocked {
			t.Fatalf("cancel: %v %v", st, err)
		}
		e = explainWant(t, b, "q", "lim", "locked", "Locked by a handler",
			"Cancelled: the worker's next heartbeat tells it, and it cancels the handler's context", "Its own limits")
		if !strings.Contains(e.Why[1], "If the lock expires first, the message is dropped, not handled again.") {
			t.Errorf("canceled: %q", e.Why[1])
		}
		if errs, err := b.Ack(ctx, "q", []core.Ack{{ID: "lim", Token: res.Messages[0].Token, Outcome: core.OutcomeSuccess, Backoff: time.Hour}}); err != nil || errs[0] != nil {
			t.Fatalf("ack: %v %v", err, errs)
		}
		explainWant(t, b, "q", "lim", "done-with-backoff", "Done, held") // limits of a done message are moot
	})
}
