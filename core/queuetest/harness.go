package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redghost/redghost/core"
)

// Harness tells [Run] how to make the backend under test.
type Harness struct {
	// New makes an isolated backend for one test. It is called from
	// parallel subtests; register any cleanup with t.Cleanup. The backend
	// must use [core.DefaultLimits].
	New func(t *testing.T) Env
	// Features are the optional capabilities the backend claims. The suite
	// fails a backend that claims one and lacks its interface, or has the
	// interface of one it does not claim (workers use it when it is
	// there); it skips, saying why, the cases of one not claimed.
	Features Features
}

// Features lists the optional capabilities a backend may have, as
// watermill's pubsub tests and river's driver tests declare theirs. The
// zero value claims none: only the cases every backend passes run.
type Features struct {
	// WaitDequeue: the backend implements [core.WaitDequeuer].
	WaitDequeue bool
	// Schedules: the backend implements [core.ScheduleStore].
	Schedules bool
	// MessageInspector: the backend implements [core.MessageInspector].
	MessageInspector bool
	// MultiWait: the backend implements [core.MultiWaiter].
	MultiWait bool
}

// Env is one test's backend and its means of moving time and looking inside.
type Env struct {
	Backend core.Backend
	// Advance lets d pass on the backend's clock (Redis: a real sleep;
	// memqueue: a manual clock).
	Advance func(d time.Duration)
	// Dump is a canonical text of everything the backend stores for this
	// Env, to check that bad input or a refused call wrote nothing. Two
	// dumps of an unchanged store are equal.
	Dump func() string
}

// Durations the suite uses. Whatever a test waits for lasts a few hundred
// milliseconds, so that the suite also runs against a real clock; whatever
// must not expire during a test lasts longLock.
const (
	longLock = time.Minute
	margin   = 50 * time.Millisecond
)

type testCase struct {
	name string
	fn   func(c *checker)
}

type group struct {
	name  string
	cases []testCase
	// feature, when set, names the optional capability the group tests
	// and says whether the harness claims it and the backend has it.
	feature func(f Features, b core.Backend) (name string, claimed, has bool)
}

// Run runs the conformance suite against the backend h makes. Every test
// runs in parallel with its own backend Env and its own queue names.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("queuetest: Harness.New is nil")
	}
	groups := []group{
		{"Reference", referenceCases, nil},
		{"Extensions", extensionCases, nil},
		{"Outcomes", outcomeCases, nil},
		{"Enqueue", enqueueCases, nil},
		{"Admin", adminCases, nil},
		{"Invalid", invalidCases, nil},
		{"Concurrency", concurrencyCases, nil},
		{"Control", controlCases, nil},
		{"WaitDequeue", waitDequeueCases, featureWaitDequeue},
		{"Schedules", scheduleCases, featureSchedules},
		{"MessageInfo", messageInfoCases, featureMessageInspector},
		{"MultiWait", multiWaitCases, featureMultiWait},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					env := h.New(t)
					if env.Backend == nil || env.Advance == nil || env.Dump == nil {
						t.Fatal("queuetest: Harness.New returned an Env with a nil field")
					}
					if g.feature != nil {
						name, claimed, has := g.feature(h.Features, env.Backend)
						switch {
						case claimed && !has:
							t.Fatalf("queuetest: Features.%s is set but %T does not implement it", name, env.Backend)
						case !claimed && has:
							t.Fatalf("queuetest: %T implements %s, which workers and tools use when it is there: set Features.%s", env.Backend, name, name)
						case !claimed:
							t.Skipf("queuetest: the backend does not claim Features.%s", name)
						}
					}
					tc.fn(&checker{T: t, env: env, ctx: t.Context(), q: QueueName(t, "")})
				})
			}
		})
	}
}

// QueueName derives a valid queue name from t.Name() and suffix: braces and
// control characters become '_', and long names are shortened with a hash so
// that they stay unique and within [core.MaxQueueNameBytes].
func QueueName(t testing.TB, suffix string) string {
	full := t.Name()
	if suffix != "" {
		full += "/" + suffix
	}
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '{' || r == '}' || r == utf8.RuneError {
			return '_'
		}
		return r
	}, full)
	if len(s) <= core.MaxQueueNameBytes {
		return s
	}
	h := fnv.New64a()
	h.Write([]byte(full))
	tail := fmt.Sprintf("~%016x", h.Sum64())
	cut := core.MaxQueueNameBytes - len(tail)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + tail
}

// checker is one test's backend, queue and assertions.
type checker struct {
	*testing.T
	env Env
	ctx context.Context
	q   string // the test's main queue
}

func (c *checker) b() core.Backend { return c.env.Backend }

// queue is another queue of this test.
func (c *checker) queue(suffix string) string { return QueueName(c.T, suffix) }

func (c *checker) advance(d time.Duration) { c.env.Advance(d) }

func (c *checker) dump() string { return c.env.Dump() }

// req builds an enqueue request for the main queue.
func (c *checker) req(id, payload string, opts ...core.EnqueueOption) core.EnqueueRequest {
	return reqTo(c.q, id, payload, opts...)
}

func reqTo(queue, id, payload string, opts ...core.EnqueueOption) core.EnqueueRequest {
	r := core.EnqueueRequest{Queue: queue, ID: id, Payload: []byte(payload)}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// enqueueAll enqueues reqs in one call and checks the shape of the answer.
func (c *checker) enqueueAll(reqs ...core.EnqueueRequest) []core.EnqueueResult {
	c.Helper()
	res, err := c.b().Enqueue(c.ctx, reqs)
	if err != nil {
		c.Fatalf("Enqueue: %v", err)
	}
	if len(res) != len(reqs) {
		c.Fatalf("Enqueue of %d requests answered %d results", len(reqs), len(res))
	}
	return res
}

// enq enqueues one message to the main queue.
func (c *checker) enq(id, payload string, opts ...core.EnqueueOption) core.EnqueueResult {
	c.Helper()
	return c.enqueueAll(c.req(id, payload, opts...))[0]
}

func (c *checker) wantAction(r core.EnqueueResult, want core.Action) {
	c.Helper()
	if r.Err != nil || r.Action != want {
		c.Fatalf("enqueue of %q: got action %v, err %v; want %v", r.ID, r.Action, r.Err, want)
	}
}

func (c *checker) wantRefused(r core.EnqueueResult, want error) {
	c.Helper()
	if !errors.Is(r.Err, want) {
		c.Fatalf("enqueue of %q: got action %v, err %v; want refusal %v", r.ID, r.Action, r.Err, want)
	}
	if r.Action != 0 {
		c.Fatalf("refused enqueue of %q has action %v, want none", r.ID, r.Action)
	}
}

// add enqueues one message to the main queue and expects it added.
func (c *checker) add(id, payload string, opts ...core.EnqueueOption) {
	c.Helper()
	c.wantAction(c.enq(id, payload, opts...), core.Added)
}

func (c *checker) dequeueFrom(queue string, max int, lock time.Duration) core.DequeueResult {
	c.Helper()
	res, err := c.b().Dequeue(c.ctx, core.DequeueParams{Queue: queue, Max: max, Lock: lock})
	if err != nil {
		c.Fatalf("Dequeue(%q, %d, %v): %v", queue, max, lock, err)
	}
	if len(res.Messages) > max {
		c.Fatalf("Dequeue(max %d) answered %d messages", max, len(res.Messages))
	}
	for _, d := range res.Messages {
		if d.Queue != queue {
			c.Fatalf("Dequeue(%q) answered message %q of queue %q", queue, d.ID, d.Queue)
		}
		if d.Token == 0 {
			c.Fatalf("Dequeue answered message %q with token 0", d.ID)
		}
		if d.EnqueuedAt.IsZero() {
			c.Fatalf("Dequeue answered message %q without EnqueuedAt", d.ID)
		}
	}
	return res
}

func (c *checker) dequeue(max int, lock time.Duration) core.DequeueResult {
	c.Helper()
	return c.dequeueFrom(c.q, max, lock)
}

// take dequeues from the main queue and expects exactly one message.
func (c *checker) take(lock time.Duration) core.Delivery {
	c.Helper()
	res := c.dequeue(1, lock)
	if len(res.Messages) != 1 {
		c.Fatalf("Dequeue: got %d messages, want 1", len(res.Messages))
	}
	return res.Messages[0]
}

// nothing dequeues from queue and expects no message (the reference's
// "sleep").
func (c *checker) nothingFrom(queue string) core.DequeueResult {
	c.Helper()
	res := c.dequeueFrom(queue, 10, longLock)
	if len(res.Messages) != 0 {
		c.Fatalf("Dequeue(%q): got %s, want nothing", queue, idsOf(res.Messages))
	}
	return res
}

func (c *checker) nothing() core.DequeueResult {
	c.Helper()
	return c.nothingFrom(c.q)
}

func idsOf(ds []core.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// wantDelivery checks what a handler would see.
func (c *checker) wantDelivery(d core.Delivery, id, payload string, attempt int, lock time.Duration) {
	c.Helper()
	if d.ID != id || string(d.Payload) != payload || d.Attempt != attempt || d.LockDuration != lock {
		c.Fatalf("delivery: got id %q payload %q attempt %d lock %v; want id %q payload %q attempt %d lock %v",
			d.ID, d.Payload, d.Attempt, d.LockDuration, id, payload, attempt, lock)
	}
}

func (c *checker) wantHeaders(what string, got, want map[string]string) {
	c.Helper()
	if len(got) != len(want) || !maps.Equal(got, want) {
		c.Fatalf("%s headers: got %v, want %v", what, got, want)
	}
}

func (c *checker) statusIn(queue, id string) core.Status {
	c.Helper()
	s, err := c.b().MessageStatus(c.ctx, queue, id)
	if err != nil {
		c.Fatalf("MessageStatus(%q, %q): %v", queue, id, err)
	}
	return s
}

// wantStatus expects the status of id in the main queue to be one of want.
func (c *checker) wantStatus(id string, want ...core.Status) {
	c.Helper()
	c.wantStatusIn(c.q, id, want...)
}

func (c *checker) wantStatusIn(queue, id string, want ...core.Status) {
	c.Helper()
	if got := c.statusIn(queue, id); !slices.Contains(want, got) {
		c.Fatalf("status of %q in %q: got %v, want %v", id, queue, got, want)
	}
}

// wantDoneOrGone expects the status right after a success or error ack
// without backoff: garbage collection may happen at the ack or on a later
// visit (SEMANTICS §8b).
func (c *checker) wantDoneOrGone(id string) {
	c.Helper()
	c.wantStatus(id, core.StatusDoneAwaitingGC, core.StatusNone)
}

// ackOne applies one ack to the main queue and answers its error.
func (c *checker) ackOne(a core.Ack) error {
	c.Helper()
	return c.acks(a)[0]
}

func (c *checker) acks(acks ...core.Ack) []error {
	c.Helper()
	errs, err := c.b().Ack(c.ctx, c.q, acks)
	if err != nil {
		c.Fatalf("Ack: %v", err)
	}
	if len(errs) != len(acks) {
		c.Fatalf("Ack of %d acks answered %d errors", len(acks), len(errs))
	}
	return errs
}

// ack applies one ack and expects it applied.
func (c *checker) ack(d core.Delivery, o core.Outcome, backoff time.Duration) {
	c.Helper()
	if err := c.ackOne(ackOf(d, o, backoff)); err != nil {
		c.Fatalf("Ack(%q, %v): %v", d.ID, o, err)
	}
}

func ackOf(d core.Delivery, o core.Outcome, backoff time.Duration) core.Ack {
	a := core.Ack{ID: d.ID, Token: d.Token, Outcome: o, Backoff: backoff}
	if o == core.OutcomeError {
		a.Error = "handler failed: " + d.ID
	}
	return a
}

func (c *checker) extend(locks ...core.LockRef) []error {
	c.Helper()
	errs, err := c.b().ExtendLocks(c.ctx, c.q, locks)
	if err != nil {
		c.Fatalf("ExtendLocks: %v", err)
	}
	if len(errs) != len(locks) {
		c.Fatalf("ExtendLocks of %d locks answered %d errors", len(locks), len(errs))
	}
	return errs
}

func (c *checker) statsOf(queue string) core.QueueStats {
	c.Helper()
	s, err := c.b().QueueStats(c.ctx, queue)
	if err != nil {
		c.Fatalf("QueueStats(%q): %v", queue, err)
	}
	return s
}

// wantStats checks the counts of queue's stats, and that OldestReady is
// zero when nothing is queued (adminOldestReady checks its value).
func (c *checker) wantStats(queue string, want core.QueueStats) {
	c.Helper()
	got := c.statsOf(queue)
	if want.Queued == 0 && got.OldestReady != 0 {
		c.Fatalf("QueueStats(%q): OldestReady %v with nothing queued", queue, got.OldestReady)
	}
	got.OldestReady = want.OldestReady
	if got != want {
		c.Fatalf("QueueStats(%q): got %+v, want %+v", queue, got, want)
	}
}

// content lists the whole of queue, page by page.
func (c *checker) content(queue string, limit int) []core.MessageInfo {
	c.Helper()
	var all []core.MessageInfo
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			c.Fatalf("QueueContent(%q): more than 1000 pages", queue)
		}
		msgs, next, err := c.b().QueueContent(c.ctx, queue, cursor, limit)
		if err != nil {
			c.Fatalf("QueueContent(%q, %q, %d): %v", queue, cursor, limit, err)
		}
		if len(msgs) > limit {
			c.Fatalf("QueueContent(limit %d) answered %d messages", limit, len(msgs))
		}
		all = append(all, msgs...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

// info is the content listing of one message of the main queue.
func (c *checker) info(id string) core.MessageInfo {
	c.Helper()
	for _, m := range c.content(c.q, 100) {
		if m.ID == id {
			return m
		}
	}
	c.Fatalf("QueueContent(%q) does not list %q", c.q, id)
	return core.MessageInfo{}
}

func (c *checker) deadLetters(queue string, offset, limit int) []core.DeadLetter {
	c.Helper()
	dl, err := c.b().DeadLetters(c.ctx, queue, offset, limit)
	if err != nil {
		c.Fatalf("DeadLetters(%q, %d, %d): %v", queue, offset, limit, err)
	}
	return dl
}

func (c *checker) queueNames() []string {
	c.Helper()
	names, err := c.b().QueueNames(c.ctx)
	if err != nil {
		c.Fatalf("QueueNames: %v", err)
	}
	return names
}

// wantUnchanged fails if the backend's store changed since before.
func (c *checker) wantUnchanged(before, what string) {
	c.Helper()
	if after := c.dump(); after != before {
		c.Fatalf("%s changed the store:\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

// wantInvalid expects err to be an *core.InvalidError about field.
func (c *checker) wantInvalid(what string, err error, field string) {
	c.Helper()
	if !errors.Is(err, core.ErrInvalid) {
		c.Fatalf("%s: got error %v, want an invalid-input error about %s", what, err, field)
	}
	var ie *core.InvalidError
	if !errors.As(err, &ie) {
		c.Fatalf("%s: error %v is not a *core.InvalidError", what, err)
	}
	if ie.Field != field {
		c.Fatalf("%s: invalid field %q (%v), want %q", what, ie.Field, err, field)
	}
}

func (c *checker) wantLockLost(what string, err error) {
	c.Helper()
	if !errors.Is(err, core.ErrLockLost) {
		c.Fatalf("%s: got %v, want ErrLockLost", what, err)
	}
}

func (c *checker) wantPayload(what string, got []byte, want string) {
	c.Helper()
	if !bytes.Equal(got, []byte(want)) {
		c.Fatalf("%s payload: got %q, want %q", what, got, want)
	}
}
