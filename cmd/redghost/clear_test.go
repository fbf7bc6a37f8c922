package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/syncbuf"
)

func TestClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// a: two waiting, one locked, one dead letter; b: one delayed; c: nothing.
	e.publish("a", "a1", "x")
	e.publish("a", "a2", "x")
	e.publish("a", "a3", "x")
	e.take("a", 1)
	e.deadLetter("a", "a4", "x", "boom")
	e.publish("b", "b1", "x", core.WithDelay(time.Hour))
	a, b := e.stats("a"), e.stats("b")
	if a != (core.QueueStats{Queued: 2, Locked: 1, Total: 3, Dead: 1}) || b != (core.QueueStats{Backoff: 1, Total: 1}) {
		t.Fatalf("seeded a %+v, b %+v", a, b)
	}

	// Not confirmed: nothing changes.
	e.cli("n\n", "clear", "a").want(t, 1, "",
		`clear "a": delete 3 messages and 1 dead letter? [y/N] n`+"\nredghost: not confirmed; nothing changed\n")
	e.cli("", "clear", "a", "b").want(t, 1, "", `  "a": 3 messages, 1 dead letter
  "b": 1 message, 0 dead letters
clear these 2 queues: delete 4 messages and 1 dead letter? [y/N] 
redghost: no answer on stdin (-yes skips the question): not confirmed; nothing changed
`)
	if e.stats("a") != a || e.stats("b") != b || e.status("b", "b1") != core.StatusQueuedWithBackoff {
		t.Fatalf("changed without confirmation: a %+v, b %+v", e.stats("a"), e.stats("b"))
	}

	// Confirmed: every count is zero and the queues are gone from the list.
	// c holds nothing, so it does not exist: said, and exit status 3, after
	// a and b are cleared.
	e.cli("y\n", "clear", "a", "b", "c", "a").want(t, 3, `cleared "a" (3 messages, 1 dead letter)
cleared "b" (1 message, 0 dead letters)
`, `  "a": 3 messages, 1 dead letter
  "b": 1 message, 0 dead letters
clear these 2 queues: delete 4 messages and 1 dead letter? [y/N] y
redghost: no queue "c" under prefix "`+e.prefix+`": nothing to clear ('redghost queues' lists the queues)
`)
	for _, q := range []string{"a", "b", "c"} {
		if st := e.stats(q); st != (core.QueueStats{}) {
			t.Errorf("%s after clear: %+v", q, st)
		}
	}
	// Left: only each queue's epoch marker (kept, so that no process takes
	// the clear for lost data) and the enqueues' request records, which
	// expire on their own.
	for _, k := range e.c.Keys(context.Background(), e.prefix+":*").Val() {
		switch {
		case strings.HasSuffix(k, ":epoch"):
		case strings.Contains(k, ":req:") && e.c.TTL(context.Background(), k).Val() > 0:
		default:
			t.Errorf("key left: %q", k)
		}
	}
	e.cli("", "queues").want(t, 0, "", `no queues under prefix "`+e.prefix+`"`+"\n")

	// Queues that do not exist: no question, nothing cleared, exit status 3.
	e.cli("", "clear", "c").want(t, 3, "", `redghost: no queue "c" under prefix "`+e.prefix+`": nothing to clear ('redghost queues' lists the queues)`+"\n")
	e.cli("", "clear", "a", "c").want(t, 3, "", `redghost: no queues "a", "c" under prefix "`+e.prefix+`": nothing to clear ('redghost queues' lists the queues)`+"\n")
	// The wrong prefix: the queue is there, under another.
	e.publish("d", "d1", "x")
	runCLI(t, "", "-redis", e.url, "-prefix", e.prefix+"x", "clear", "-yes", "d").want(t, 3, "",
		`redghost: no queue "d" under prefix "`+e.prefix+`x": nothing to clear ('redghost queues' lists the queues)`+"\n")
	if st := e.stats("d"); st != (core.QueueStats{Queued: 1, Total: 1}) {
		t.Errorf("d after a clear under another prefix: %+v", st)
	}

	// -yes: no question.
	e.cli("", "clear", "-yes", "d").want(t, 0, `cleared "d" (1 message, 0 dead letters)`+"\n", "")
	if st := e.stats("d"); st != (core.QueueStats{}) {
		t.Errorf("d after clear -yes: %+v", st)
	}
}

// The context ends (SIGINT, in main) while the question waits for an
// answer: exit 1 and nothing changes.
func TestClearInterrupted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish("a", "a1", "x")
	stdin, w := io.Pipe()            // an operator who does not answer
	defer func() { _ = w.Close() }() // ends the goroutine that reads the answer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncbuf.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-redis", e.url, "-prefix", e.prefix, "clear", "a"}, stdin, &out, &errb)
	}()
	waitUntil(t, func() bool { return strings.HasSuffix(errb.String(), "[y/N] ") })
	cancel()
	if code := <-done; code != 1 || out.String() != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, out.String())
	}
	if want := `clear "a": delete 1 message and 0 dead letters? [y/N] ` + "\nredghost: interrupted (context canceled): not confirmed; nothing changed\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	if st := e.stats("a"); st.Total != 1 {
		t.Errorf("a after interrupted clear: %+v", st)
	}
}

var clusterPrefixes atomic.Int64

// -cluster: a ClusterClient on a one-node Redis Cluster that asks for a
// password; the password comes from the -redis URL, and the queue list from
// every master.
func TestCluster(t *testing.T) {
	t.Parallel()
	srv, _ := redistest.StartCluster(t)
	ctx := context.Background()
	// The password is set once the cluster is up: redistest's readiness
	// checks are unauthenticated.
	if err := srv.Client(t).ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}, Password: "s3cret"})
	t.Cleanup(func() { _ = cc.Close() })
	prefix := fmt.Sprintf("clc%d", clusterPrefixes.Add(1))
	b, err := redisqueue.New(cc, redisqueue.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	pub := core.NewPublisher(b)
	for _, q := range []string{"alpha", "beta", "gamma"} {
		if _, err := pub.Enqueue(ctx, q, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// The URL's host is not used: only the -cluster addresses are.
	cli := func(stdin string, args ...string) result {
		return runCLI(t, stdin, append([]string{"-cluster", srv.Addr(), "-redis", "redis://:s3cret@unused.invalid:1", "-prefix", prefix}, args...)...)
	}

	cli("", "queues").masked().want(t, 0, `QUEUE  QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
alpha  1       0       0        0     1      0     ~       -
beta   1       0       0        0     1      0     ~       -
gamma  1       0       0        0     1      0     ~       -
`, "")
	cli("y\n", "clear", "beta").want(t, 0,
		`cleared "beta" (1 message, 0 dead letters)`+"\n", `clear "beta": delete 1 message and 0 dead letters? [y/N] y`+"\n")
	cli("", "stats", "beta", "gamma").masked().want(t, 0, `QUEUE  QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
beta   0       0       0        0     0      0     -       -
gamma  1       0       0        0     1      0     ~       -
`, "")

	// Without the password: the server's refusal, exit 1.
	r := runCLI(t, "", "-cluster", srv.Addr()+",", "-prefix", prefix, "stats", "gamma")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "NOAUTH") {
		t.Errorf("without password: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Without -redis, $REDIS_URL names the server.
func TestRedisURLFromEnv(t *testing.T) {
	e := newEnv(t)
	e.publish("q", "m", "x")
	t.Setenv("REDIS_URL", e.url)
	runCLI(t, "", "-prefix", e.prefix, "status", "q", "m").want(t, 0, "queued\n", "")
	// -redis wins over $REDIS_URL.
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
	runCLI(t, "", "-prefix", e.prefix, "-redis", e.url, "status", "q", "m").want(t, 0, "queued\n", "")
}
