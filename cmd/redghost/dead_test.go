package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// seedDead makes two dead letters in "d", a (failed first) and b, and one
// waiting message w.
func seedDead(e *env) {
	e.t.Helper()
	e.deadLetter("d", "a", `{"n":"a"}`, "boom\nat line 2")
	time.Sleep(5 * time.Millisecond) // b fails strictly later: newest first is b, a
	e.deadLetter("d", "b", "\x01bin", "timeout: upstream")
	e.publish("d", "w", "waiting")
}

func TestDeadList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDead(e)
	dl := e.dead("d")
	if !slices.Equal(deadIDs(dl), []string{"b", "a"}) {
		t.Fatalf("dead letters %q, want b, a", deadIDs(dl))
	}
	b, a := timestamp(dl[0].FailedAt), timestamp(dl[1].FailedAt)

	e.cli("", "dead", "list", "d").want(t, 0, `ID  ATTEMPT  FAILED                    ERROR
b   1        `+b+`  timeout: upstream
a   1        `+a+`  boom\nat line 2
`, "")
	e.cli("", "dead", "list", "-payload", "-width", "8", "d").want(t, 0, `ID  ATTEMPT  FAILED                    ERROR     PAYLOAD
b   1        `+b+`  timeout…  \x01bin
a   1        `+a+`  boom\na…  {"n":"a…
`, "")

	// Pages: a full page says where the next one starts.
	e.cli("", "dead", "list", "-limit", "1", "d").want(t, 0, `ID  ATTEMPT  FAILED                    ERROR
b   1        `+b+`  timeout: upstream
`, "next page: -offset 1\n")
	e.cli("", "dead", "list", "-offset", "1", "-limit", "1", "d").want(t, 0, `ID  ATTEMPT  FAILED                    ERROR
a   1        `+a+`  boom\nat line 2
`, "next page: -offset 2\n")
	e.cli("", "dead", "list", "-offset", "2", "-limit", "1", "d").want(t, 0, "", `no dead letters in "d" past offset 2`+"\n")
	e.cli("", "dead", "list", "nosuch").want(t, 0, "", `no dead letters in "nosuch"`+"\n")

	r := e.cli("", "dead", "list", "-json", "-payload", "d")
	var p deadPageJSON
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v in %s", r.code, err, r.stdout)
	}
	if p.Queue != "d" || len(p.DeadLetters) != 2 {
		t.Fatalf("%+v", p)
	}
	jb, ja := p.DeadLetters[0], p.DeadLetters[1]
	if jb.ID != "b" || jb.Attempt != 1 || jb.Error != "timeout: upstream" || !jb.FailedAt.Equal(dl[0].FailedAt) ||
		jb.Payload == nil || *jb.Payload != "\x01bin" {
		t.Errorf("b: %+v", jb)
	}
	if ja.ID != "a" || ja.Error != "boom\nat line 2" || !ja.FailedAt.Equal(dl[1].FailedAt) || ja.Payload == nil || *ja.Payload != `{"n":"a"}` {
		t.Errorf("a: %+v", ja)
	}
}

func TestDeadRequeueByID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDead(e)

	// Named ids need no question; an id that is not a dead letter stays
	// out, and is named with the reason.
	e.cli("", "dead", "requeue", "d", "a", "nosuch", "a", "w").want(t, 0, `requeued 1 dead letter of "d"`+"\n",
		`2 of the 3 ids stayed:
  "nosuch": not a dead letter, nor in the queue
  "w": not a dead letter (live in the queue: queued)
`)
	if st := e.status("d", "a"); st != core.StatusQueued {
		t.Errorf("a is %s, want queued", st)
	}
	if ids := deadIDs(e.dead("d")); !slices.Equal(ids, []string{"b"}) {
		t.Errorf("dead letters %q, want b", ids)
	}

	// A dead letter whose id is live in the queue stays in the list.
	e.publish("d", "b", "a new b")
	e.cli("", "dead", "requeue", "d", "b").want(t, 0, `requeued 0 dead letters of "d"`+"\n",
		`1 of the 1 ids stayed:
  "b": live in the queue (queued), so its dead letter stays
`)
	if ids := deadIDs(e.dead("d")); !slices.Equal(ids, []string{"b"}) {
		t.Errorf("dead letters %q, want b", ids)
	}
}

func TestDeadRequeueAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDead(e)
	before := e.stats("d")
	const question = `requeue all 2 dead letters of "d"? [y/N] `

	// Not confirmed: nothing changes.
	e.cli("n\n", "dead", "requeue", "d").want(t, 1, "", question+"n\nredghost: not confirmed; nothing changed\n")
	e.cli("", "dead", "requeue", "d").want(t, 1, "",
		question+"\nredghost: no answer on stdin (-yes skips the question): not confirmed; nothing changed\n")
	if after := e.stats("d"); after != before {
		t.Errorf("stats after refusals %+v, want %+v", after, before)
	}
	if ids := deadIDs(e.dead("d")); !slices.Equal(ids, []string{"b", "a"}) {
		t.Errorf("dead letters %q, want b, a", ids)
	}

	// Confirmed: the dead-letter list is empty and the messages are queued.
	e.cli("Yes\n", "dead", "requeue", "d").want(t, 0, `requeued 2 dead letters of "d"`+"\n", question+"Yes\n")
	if n := len(e.dead("d")); n != 0 {
		t.Errorf("%d dead letters left", n)
	}
	for _, id := range []string{"a", "b", "w"} {
		if st := e.status("d", id); st != core.StatusQueued {
			t.Errorf("%s is %s, want queued", id, st)
		}
	}
	if st := e.stats("d"); st != (core.QueueStats{Queued: 3, Total: 3}) {
		t.Errorf("stats %+v", st)
	}

	// Nothing to requeue: no question.
	e.cli("", "dead", "requeue", "d").want(t, 0, `no dead letters in "d"`+"\n", "")

	// -yes: no question.
	e.deadLetter("d2", "c", "x", "boom")
	e.cli("", "dead", "requeue", "-yes", "d2").want(t, 0, `requeued 1 dead letter of "d2"`+"\n", "")
	if st := e.status("d2", "c"); st != core.StatusQueued {
		t.Errorf("c is %s, want queued", st)
	}
}

// The whole story with a real worker: its handler fails a message, the
// operator finds the dead letter and requeues it, and the worker handles it
// again.
func TestDeadLettersFromWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	fixed := make(chan struct{})
	handled := make(chan string, 4)
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		select {
		case <-fixed:
			handled <- m.ID
			return core.Success()
		default:
			handled <- m.ID
			return core.Fail(errors.New("smtp: 550 mailbox unavailable"))
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := core.NewWorker(core.NewQueue(e.b, "mail"), h, core.WithConcurrency(1), core.WithLogger(quiet),
		core.WithMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(ctx) }()

	e.publish("mail", "welcome-42", `{"user":42}`)
	waitFor(t, handled, "welcome-42")
	waitUntil(t, func() bool { return e.stats("mail").Dead == 1 })

	r := e.cli("", "dead", "list", "mail")
	if lines := strings.Split(r.stdout, "\n"); r.code != 0 || len(lines) != 3 ||
		!strings.HasPrefix(lines[1], "welcome-42  1 ") || !strings.HasSuffix(lines[1], "  smtp: 550 mailbox unavailable") {
		t.Errorf("exit %d, listing:\n%s", r.code, r.stdout)
	}

	close(fixed)
	e.cli("y\n", "dead", "requeue", "mail").want(t, 0, `requeued 1 dead letter of "mail"`+"\n",
		`requeue all 1 dead letter of "mail"? [y/N] y`+"\n")
	waitFor(t, handled, "welcome-42")
	waitUntil(t, func() bool { return e.stats("mail") == core.QueueStats{} })
	e.cli("", "stats", "mail").masked().want(t, 0, `QUEUE  QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
mail   0       0       0        0     0      0     -       -
`, "")
}

func waitFor(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("handled %s, want %s", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s not handled", want)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeadPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDead(e)
	before := e.stats("d")
	const question = `delete 2 dead letters of "d" for good? [y/N] `

	e.cli("no\n", "dead", "purge", "d").want(t, 1, "", question+"no\nredghost: not confirmed; nothing changed\n")
	if after := e.stats("d"); after != before || after.Dead != 2 {
		t.Errorf("stats after refusal %+v, want %+v", after, before)
	}

	e.cli("y\n", "dead", "purge", "d").want(t, 0, `purged 2 dead letters of "d"`+"\n", question+"y\n")
	// The dead letters are gone; the waiting message is not touched.
	if st := e.stats("d"); st != (core.QueueStats{Queued: 1, Total: 1}) {
		t.Errorf("stats after purge %+v", st)
	}
	e.cli("", "dead", "purge", "d").want(t, 0, `no dead letters in "d"`+"\n", "")

	e.deadLetter("d2", "c", "x", "boom")
	e.cli("", "dead", "purge", "d2", "-yes").want(t, 0, `purged 1 dead letter of "d2"`+"\n", "")
	if st := e.stats("d2"); st != (core.QueueStats{}) {
		t.Errorf("stats after purge -yes %+v", st)
	}
}
