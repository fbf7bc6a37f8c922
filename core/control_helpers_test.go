package core_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// handlingEnd is how a handler's context ended: its cause (nil if it was
// never cancelled) and when.
type handlingEnd struct {
	cause error
	at    time.Time
}

// longHandling is a handler that runs until its context is cancelled
// (at most 10 s), telling when it starts and how it ended.
type longHandling struct {
	started chan struct{}
	ended   chan handlingEnd
}

func newLongHandling() *longHandling {
	return &longHandling{started: make(chan struct{}, 1), ended: make(chan handlingEnd, 1)}
}

func (l *longHandling) Handle(ctx context.Context, _ *core.Message) core.Result {
	l.started <- struct{}{}
	select {
	case <-ctx.Done():
		l.ended <- handlingEnd{context.Cause(ctx), time.Now()}
		return core.Fail(ctx.Err())
	case <-time.After(10 * time.Second):
		l.ended <- handlingEnd{nil, time.Now()}
		return core.Success()
	}
}

// cancelRunning waits for l's handler to start, cancels message id of q,
// and checks that the handler's context ends with cause ErrCanceled
// within one heartbeat.
func cancelRunning(t *testing.T, q *core.Queue, id string, l *longHandling, heartbeat time.Duration) {
	t.Helper()
	<-l.started
	at := time.Now()
	st, err := q.Cancel(t.Context(), id)
	if err != nil || st != core.StatusLocked {
		t.Fatalf("Cancel: %v, %v; want locked", st, err)
	}
	e := <-l.ended
	if !errors.Is(e.cause, core.ErrCanceled) {
		t.Fatalf("the handler's context ended with cause %v, want ErrCanceled", e.cause)
	}
	if took := e.at.Sub(at); took > heartbeat+200*time.Millisecond {
		t.Fatalf("the handler was told after %s, more than one heartbeat (%s)", took, heartbeat)
	}
}

// checkEndedCanceled checks that message id of q is gone, without a dead
// letter, as a cancelled message ends.
func checkEndedCanceled(t *testing.T, q *core.Queue, id string) {
	t.Helper()
	ctx := t.Context()
	if st, err := q.MessageStatus(ctx, id); err != nil || st != core.StatusNone {
		t.Fatalf("status after the cancelled handling: %v, %v; want none", st, err)
	}
	if dl, err := q.DeadLetters(ctx, 0, 10); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters: %v, %v; want none", dl, err)
	}
}

// awaitRegistration waits until b's registry lists exactly one worker for
// which ok holds, and answers it.
func awaitRegistration(t *testing.T, b core.Backend, ok func(core.WorkerInfo) bool) core.WorkerInfo {
	t.Helper()
	var got core.WorkerInfo
	waitFor(t, "the registration", 5*time.Second, func() bool {
		ws, err := b.Workers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) > 1 {
			t.Fatalf("%d registrations, want one: %+v", len(ws), ws)
		}
		if len(ws) != 1 {
			return false
		}
		got = ws[0]
		return ok(got)
	})
	return got
}

// checkRegistration checks the fields of a registration made by this
// process with concurrency handlers, started after before.
func checkRegistration(t *testing.T, got core.WorkerInfo, concurrency int, before time.Time) {
	t.Helper()
	host, _ := os.Hostname()
	if got.ID == "" || got.Host != host || got.PID != os.Getpid() || got.Concurrency != concurrency ||
		got.StartedAt.Before(before.Add(-time.Second)) || got.LastSeen.IsZero() || !got.ExpiresAt.After(got.LastSeen) {
		t.Fatalf("registration %+v", got)
	}
}

// checkUnregistered checks that b's registry lists no worker.
func checkUnregistered(t *testing.T, b core.Backend) {
	t.Helper()
	ws, err := b.Workers(t.Context())
	if err != nil || len(ws) != 0 {
		t.Fatalf("after Stop: workers %+v, %v; want none", ws, err)
	}
}
