package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// TestMain keeps the tests from the caller's REDIS_URL, silences the
// client's log as main does, stops the shared
// redis-server and checks that no test left a goroutine behind (clients
// closed, workers stopped).
func TestMain(m *testing.M) {
	_ = os.Unsetenv("REDIS_URL")
	redis.SetLogger(discardLogger{}) // as main does
	redistest.Main(m)
}

// result is what one run of the program did.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the program with args and stdin.
func runCLI(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// want fails t unless r has the exit code and exactly the outputs.
func (r result) want(t testing.TB, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || r.stdout != stdout || r.stderr != stderr {
		t.Errorf("exit %d, want %d\n--- stdout:\n%s--- want stdout:\n%s--- stderr:\n%s--- want stderr:\n%s",
			r.code, code, r.stdout, stdout, r.stderr, stderr)
	}
}

// oldestWaits are the OLDEST cells of a stats table and the
// oldest_ready_ms values of its JSON, which depend on the clock.
var oldestWaits = regexp.MustCompile(`(?m)(<1ms|\d+ms|\d+\.\ds)( +(?:yes|-))$|("oldest_ready_ms": )\d+`)

// masked is r with every wait of a queue's longest-waiting message
// replaced by "~", so that tables compare exactly; "-" (nothing queued)
// stays.
func (r result) masked() result {
	r.stdout = oldestWaits.ReplaceAllStringFunc(r.stdout, func(s string) string {
		m := oldestWaits.FindStringSubmatch(s)
		if m[3] != "" {
			return m[3] + "~"
		}
		return "~" + strings.Repeat(" ", len(m[1])-1) + m[2] // the PAUSED column stays in place
	})
	return r
}

var prefixes atomic.Int64

// env is a test's view of the shared redis-server under a key prefix of
// its own, so that parallel tests never see each other's queues.
type env struct {
	t      testing.TB
	url    string
	prefix string
	c      *redis.Client
	b      *redisqueue.Backend
	pub    *core.Publisher
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := fmt.Sprintf("cli%d", prefixes.Add(1))
	b, err := redisqueue.New(c, redisqueue.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, url: "redis://" + srv.Addr() + "/0", prefix: prefix, c: c, b: b, pub: core.NewPublisher(b)}
}

// cli runs the program against the env's server and prefix.
func (e *env) cli(stdin string, args ...string) result {
	e.t.Helper()
	return runCLI(e.t, stdin, append([]string{"-redis", e.url, "-prefix", e.prefix}, args...)...)
}

// publish enqueues payload under id.
func (e *env) publish(queue, id, payload string, opts ...core.EnqueueOption) {
	e.t.Helper()
	if _, err := e.pub.Enqueue(context.Background(), queue, []byte(payload), append(opts, core.WithID(id))...); err != nil {
		e.t.Fatalf("publish %s/%s: %v", queue, id, err)
	}
}

// take dequeues n messages with a lock of an hour, as a handler would.
func (e *env) take(queue string, n int) []core.Delivery {
	e.t.Helper()
	res, err := e.b.Dequeue(context.Background(), core.DequeueParams{Queue: queue, Max: n, Lock: time.Hour})
	if err != nil || len(res.Messages) != n {
		e.t.Fatalf("dequeue %d from %s: %d messages, %v", n, queue, len(res.Messages), err)
	}
	return res.Messages
}

// fail acknowledges d with an error outcome: d becomes a dead letter.
func (e *env) fail(queue string, d core.Delivery, text string) {
	e.t.Helper()
	e.ack(queue, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: text})
}

func (e *env) ack(queue string, a core.Ack) {
	e.t.Helper()
	errs, err := e.b.Ack(context.Background(), queue, []core.Ack{a})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		e.t.Fatalf("ack %s/%s: %v", queue, a.ID, err)
	}
}

// deadLetter publishes id, takes it and fails it with text.
func (e *env) deadLetter(queue, id, payload, text string) {
	e.t.Helper()
	e.publish(queue, id, payload)
	e.fail(queue, e.take(queue, 1)[0], text)
}

func (e *env) stats(queue string) core.QueueStats {
	e.t.Helper()
	s, err := e.b.QueueStats(context.Background(), queue)
	if err != nil {
		e.t.Fatalf("stats of %s: %v", queue, err)
	}
	s.OldestReady = 0 // the tests compare counts; TestStats checks it
	return s
}

func (e *env) status(queue, id string) core.Status {
	e.t.Helper()
	s, err := e.b.MessageStatus(context.Background(), queue, id)
	if err != nil {
		e.t.Fatalf("status of %s/%s: %v", queue, id, err)
	}
	return s
}

func (e *env) dead(queue string) []core.DeadLetter {
	e.t.Helper()
	d, err := e.b.DeadLetters(context.Background(), queue, 0, 1000)
	if err != nil {
		e.t.Fatalf("dead letters of %s: %v", queue, err)
	}
	return d
}

func deadIDs(dead []core.DeadLetter) []string {
	ids := make([]string, len(dead))
	for i, d := range dead {
		ids[i] = d.ID
	}
	return ids
}
