package main

import (
	"strings"
	"testing"
	"time"
)

func TestWhy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)
	e.cli("", "why", "emails", "e1").want(t, 0, "queued\nQueued: waiting for a handler; a worker takes it on its next dequeue.\n", "")
	e.cli("", "why", "emails", "e3").want(t, 0, "queued-with-backoff\nWaiting for its initial delay, due in 1 h; then it is queued for a handler.\n", "")
	e.cli("", "why", "orders", "o1").want(t, 0, `locked
Locked by a handler (attempt 1); the lock expires in 1 h unless its heartbeat extends it.
If the lock expires (the handler crashed or stalled), the message is queued again and handled once more.
`, "")
	e.cli("", "why", "orders", "o3").want(t, 0, "done-with-backoff\nDone, held 1 h more so enqueues of this id are refused as backoff (an enqueue that allows a requeue queues a new copy after it).\n", "")
	e.cli("", "why", "nosuch", "x").want(t, 0, "none\nNot in the queue: never enqueued, or handled and collected, or cleared.\n", "")

	failed := e.dead("orders")[0].FailedAt.UTC().Format(time.RFC3339)
	e.cli("", "why", "orders", "o2").want(t, 0, `dead
Not in the queue any more: it failed and is kept as a dead letter.
Dead letter: failed at `+failed+` after once with the error: card declined
It stays in the dead-letter list until it is requeued (as a fresh message, attempt 0) or purged.
`, "")

	// Error texts are escaped: nothing in a message reaches the terminal raw.
	e.deadLetter("logs", "l1", "x", "line 1\n\x1b[2Jline 2")
	r := e.cli("", "why", "logs", "l1")
	if r.code != 0 || !strings.Contains(r.stdout, "with the error: line 1 | \\x1b[2Jline 2\n") || strings.Contains(r.stdout, "\x1b") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}

	e.cli("", "why", "emails").want(t, 2, "", "redghost: why: missing message id\nusage: redghost why QUEUE ID\nrun 'redghost help why' for details\n")
	e.cli("", "why", "emails", "bad\x01id").want(t, 2, "", `redghost: message id "bad\x01id": holds control character U+0001
usage: redghost why QUEUE ID
run 'redghost help why' for details
`)
}
