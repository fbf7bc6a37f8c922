package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)
	e.cli("", "pause", "emails", "idle", "emails").want(t, 0, "", "paused \"emails\"\npaused \"idle\"\n")
	if !e.stats("emails").Paused || !e.stats("idle").Paused || e.stats("orders").Paused {
		t.Fatal("pause did not reach the backend as asked")
	}
	// Workers take nothing from a paused queue; enqueues still go in.
	res, err := e.b.Dequeue(context.Background(), core.DequeueParams{Queue: "emails", Max: 10, Lock: time.Hour})
	if err != nil || !res.Paused || len(res.Messages) != 0 {
		t.Fatalf("dequeue from the paused queue: %+v, %v", res, err)
	}
	e.publish("emails", "e4", `{"to":"d"}`)
	// An empty paused queue is listed, so that it can be found and resumed.
	e.cli("", "queues").masked().want(t, 0, `QUEUE   QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
emails  3       0       1        0     4      0     ~       yes
idle    0       0       0        0     0      0     -       yes
orders  0       1       0        1     2      1     -       -
`, "")
	r := e.cli("", "stats", "-json", "idle")
	var js []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || r.code != 0 || len(js) != 1 || js[0]["paused"] != true {
		t.Fatalf("stats -json of a paused queue: exit %d, %q", r.code, r.stdout)
	}
	e.cli("", "resume", "emails", "idle").want(t, 0, "", "resumed \"emails\"\nresumed \"idle\"\n")
	e.cli("", "resume", "emails").want(t, 0, "", "resumed \"emails\"\n")
	if e.stats("emails").Paused || e.stats("idle").Paused {
		t.Fatal("resume did not lift the pause")
	}
	e.cli("", "pause").want(t, 2, "", `redghost: pause: missing queue name
usage: redghost pause QUEUE...
run 'redghost help pause' for details
`)
	e.cli("", "resume", "a{b}").want(t, 2, "", `redghost: queue name "a{b}": holds '{' or '}' (reserved for the Redis hash tag)
usage: redghost resume QUEUE...
run 'redghost help resume' for details
`)
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)
	// emails: e1, e2 queued, e3 delayed; orders: o1 locked, o2 dead, o3 done
	// with backoff.
	e.cli("", "cancel", "emails", "e1", "e3", "nosuch").want(t, 0, `ID      STATUS               RESULT
e1      queued               removed
e3      queued-with-backoff  removed
nosuch  none                 nothing to cancel
`, "")
	if s := e.stats("emails"); s.Total != 1 || s.Backoff != 0 {
		t.Fatalf("emails after the cancel: %+v, want only e2", s)
	}
	e.publish("orders", "o1", "again", core.WithRequeue())
	e.cli("", "cancel", "-json", "orders", "o1", "o3").want(t, 0, `[
  {
    "id": "o1",
    "status": "locked-with-requeue",
    "result": "handler told at its next heartbeat; requeue copy dropped"
  },
  {
    "id": "o3",
    "status": "done-with-backoff",
    "result": "already handled"
  }
]
`, "")
	if st := e.status("orders", "o1"); st != core.StatusLocked {
		t.Fatalf("o1 after the cancel: %v, want locked (its copy dropped)", st)
	}
	e.cli("", "cancel", "orders").want(t, 2, "", `redghost: cancel: missing message id
usage: redghost cancel [-json] QUEUE ID...
run 'redghost help cancel' for details
`)
}

func TestWorkers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cli("", "workers").want(t, 0, "", fmt.Sprintf("no workers under prefix %q\n", e.prefix))
	e.cli("", "workers", "-json").want(t, 0, "[]\n", "")

	started := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	info := core.WorkerInfo{ID: "w1", Host: "box", PID: 4242, Queues: []string{"emails", "orders"},
		Concurrency: 8, InFlight: 3, StartedAt: started}
	if err := e.b.RegisterWorker(context.Background(), info, time.Minute); err != nil {
		t.Fatal(err)
	}
	r := e.cli("", "workers")
	want := regexp.MustCompile(`^ID  HOST  PID   QUEUES         CONCURRENCY  IN-FLIGHT  STARTED                   LAST-SEEN
w1  box   4242  emails,orders  8            3          2026-11-27T10:00:00.000Z  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z
$`)
	if r.code != 0 || !want.MatchString(r.stdout) || r.stderr != "" {
		t.Fatalf("workers: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.cli("", "workers", "-json")
	var js []workerJSON
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 1 || js[0].PID != 4242 ||
		js[0].InFlight != 3 || js[0].StartedAt != "2026-11-27T10:00:00.000Z" || js[0].LastSeen == "" {
		t.Fatalf("workers -json: %q, %v", r.stdout, err)
	}
	if err := e.b.UnregisterWorker(context.Background(), "w1"); err != nil {
		t.Fatal(err)
	}
	e.cli("", "workers", "-json").want(t, 0, "[]\n", "")
	e.cli("", "workers", "x").want(t, 2, "", `redghost: workers: takes no arguments, got "x"
usage: redghost workers [-json]
run 'redghost help workers' for details
`)
}

// content -json shows a cancelled message and a message's own limits.
func TestContentShowsCancelAndLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish("jobs", "j1", "x", core.WithMaxAttempts(3), core.WithHandlingTimeout(1500*time.Millisecond))
	e.take("jobs", 1)
	e.cli("", "cancel", "jobs", "j1").want(t, 0, "ID  STATUS  RESULT\nj1  locked  handler told at its next heartbeat\n", "")
	r := e.cli("", "content", "-json", "jobs")
	var page struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Messages) != 1 {
		t.Fatalf("content -json: %q, %v", r.stdout, err)
	}
	m := page.Messages[0]
	if m["canceled"] != true || m["max_attempts"] != 3.0 || m["timeout_ms"] != 1500.0 {
		t.Fatalf("content -json of a cancelled message with limits: %v", m)
	}
}
