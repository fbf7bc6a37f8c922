package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// seedTwoQueues makes "emails" with two waiting messages and one delayed,
// and "orders" with one message locked by a handler, one failed (a dead
// letter, gone from the queue) and one handled whose id is held for an
// hour (done).
func seedTwoQueues(e *env) {
	e.t.Helper()
	e.publish("emails", "e1", `{"to":"a"}`)
	e.publish("emails", "e2", `{"to":"b"}`)
	e.publish("emails", "e3", `{"to":"c"}`, core.WithDelay(time.Hour))
	e.publish("orders", "o1", `{"n":1}`)
	e.publish("orders", "o2", `{"n":2}`)
	e.publish("orders", "o3", `{"n":3}`)
	d := e.take("orders", 3)
	e.fail("orders", d[1], "card declined")
	e.ack("orders", core.Ack{ID: d[2].ID, Token: d[2].Token, Outcome: core.OutcomeSuccess, Backoff: time.Hour})
}

const twoQueuesTable = `QUEUE   QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
emails  2       0       1        0     3      0     ~       -
orders  0       1       0        1     2      1     -       -
`

func TestQueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cli("", "queues").want(t, 0, "", `no queues under prefix "`+e.prefix+`"`+"\n")
	e.cli("", "queues", "-json").want(t, 0, "[]\n", "")

	seedTwoQueues(e)
	e.cli("", "queues").masked().want(t, 0, twoQueuesTable, "")
	e.cli("", "queues", "-json").masked().want(t, 0, `[
  {
    "queue": "emails",
    "queued": 2,
    "locked": 0,
    "backoff": 1,
    "done": 0,
    "total": 3,
    "dead": 0,
    "oldest_ready_ms": ~,
    "paused": false
  },
  {
    "queue": "orders",
    "queued": 0,
    "locked": 1,
    "backoff": 0,
    "done": 1,
    "total": 2,
    "dead": 1,
    "oldest_ready_ms": ~,
    "paused": false
  }
]
`, "")

	// A queue that holds only dead letters is still listed.
	e.deadLetter("audit", "a1", "x", "boom")
	e.cli("", "queues").masked().want(t, 0, `QUEUE   QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
audit   0       0       0        0     0      1     -       -
emails  2       0       1        0     3      0     ~       -
orders  0       1       0        1     2      1     -       -
`, "")
}

func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)

	e.cli("", "stats", "emails", "orders").masked().want(t, 0, twoQueuesTable, "")
	// Repeats are dropped; a queue that does not exist counts zero; flags
	// may follow the names, and global flags the command.
	runCLI(t, "", "stats", "orders", "nosuch", "orders", "-redis", e.url, "-prefix", e.prefix).want(t, 0,
		`QUEUE   QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
orders  0       1       0        1     2      1     -       -
nosuch  0       0       0        0     0      0     -       -
`, "")
	e.cli("", "stats", "orders", "-json").masked().want(t, 0, `[
  {
    "queue": "orders",
    "queued": 0,
    "locked": 1,
    "backoff": 0,
    "done": 1,
    "total": 2,
    "dead": 1,
    "oldest_ready_ms": ~,
    "paused": false
  }
]
`, "")
	// OLDEST is how long the longest-waiting queued message has waited.
	time.Sleep(50 * time.Millisecond)
	r := e.cli("", "stats", "-json", "emails", "orders")
	var got []queueStatsJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 {
		t.Fatalf("stats -json: %v\n%s", err, r.stdout)
	}
	if ms := got[0].OldestReadyMS; ms < 50 || ms > 30_000 {
		t.Errorf("emails: oldest_ready_ms %d, want the time since seeding (at least 50)", ms)
	}
	if ms := got[1].OldestReadyMS; ms != 0 {
		t.Errorf("orders (nothing queued): oldest_ready_ms %d, want 0", ms)
	}

	// After "--" everything is a queue name, even one that looks like a flag.
	e.cli("", "stats", "--", "-json").masked().want(t, 0, `QUEUE  QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
-json  0       0       0        0     0      0     -       -
`, "")

	// One bad name and nothing is read.
	e.cli("", "stats", "emails", "a{b}").masked().want(t, 2, "", `redghost: queue name "a{b}": holds '{' or '}' (reserved for the Redis hash tag)
usage: redghost stats [-json] QUEUE...
run 'redghost help stats' for details
`)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)
	for _, c := range []struct{ queue, id, want string }{
		{"emails", "e1", "queued"},
		{"emails", "e3", "queued-with-backoff"},
		{"orders", "o1", "locked"},
		{"orders", "o3", "done-with-backoff"},
		{"orders", "nosuch", "none"},
		{"nosuch", "e1", "none"},
	} {
		e.cli("", "status", c.queue, c.id).want(t, 0, c.want+"\n", "")
	}
	// A dead letter says when it failed and why; the first line is the
	// status alone.
	failed := timestamp(e.dead("orders")[0].FailedAt)
	e.cli("", "status", "orders", "o2").want(t, 0, "dead\nfailed:  "+failed+" (attempt 1)\nerror:   card declined\n", "")
	// Published again after it died: live, and still a dead letter.
	e.publish("orders", "o2", `{"n":2}`)
	e.cli("", "status", "orders", "o2").want(t, 0, "queued\nalso a dead letter:\nfailed:  "+failed+" (attempt 1)\nerror:   card declined\n", "")
	// Error texts are escaped.
	e.deadLetter("logs", "l1", "x", "line 1\n\x1b[2Jline 2")
	r := e.cli("", "status", "logs", "l1")
	if want := "dead\nfailed:  "; r.code != 0 || !strings.HasPrefix(r.stdout, want) || !strings.HasSuffix(r.stdout, " (attempt 1)\nerror:   line 1\\n\\x1b[2Jline 2\n") {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}

	e.cli("", "status", "emails", "bad\x01id").want(t, 2, "", `redghost: message id "bad\x01id": holds control character U+0001
usage: redghost status QUEUE ID
run 'redghost help status' for details
`)
}
