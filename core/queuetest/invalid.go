package queuetest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// invalidCases check that bad input gets a clear *core.InvalidError and
// writes nothing (SEMANTICS §9).
//
// The contract they fix: a bad request in an Enqueue batch gets its
// InvalidError in its result and the others go through; likewise a bad
// entry in an Ack or ExtendLocks batch gets its InvalidError in errs and the
// others apply. A bad queue name, lock duration or max fails the whole call
// with an InvalidError. The Field of each InvalidError is named below.
var invalidCases = []testCase{
	{"EnqueueQueueName", invEnqueueQueueName},
	{"EnqueueRequest", invEnqueueRequest},
	{"EnqueueLimitsAreInclusive", invEnqueueLimitsInclusive},
	{"EnqueueBatchWithOneBad", invEnqueueBatch},
	{"EnqueueRefusalNamesQueueAndID", invEnqueueNames},
	{"PublisherRefusal", invPublisher},
	{"Dequeue", invDequeue},
	{"Ack", invAck},
	{"ExtendLocks", invExtendLocks},
	{"Admin", invAdmin},
}

// badQueueNames are names every backend must refuse, by description.
var badQueueNames = map[string]string{
	"empty":              "",
	"257 bytes":          strings.Repeat("q", core.MaxQueueNameBytes+1),
	"NUL":                "a\x00b",
	"newline":            "a\nb",
	"DEL":                "a\x7fb",
	"C1 control":         "a\u0085b",
	"not UTF-8":          "a\xffb",
	"braces":             "a{b}",
	"opening brace":      "{a",
	"closing brace":      "a}",
	"hash-tag lookalike": "q{tag}",
}

// seed stores a little of everything, so that a dump shows any write.
func (c *checker) seed() core.Delivery {
	c.Helper()
	c.add("failed", "x")
	c.ack(c.take(longLock), core.OutcomeError, 0)
	c.add("locked", "x", core.WithHeader("k", "v"))
	d := c.take(longLock)
	c.add("delayed", "x", core.WithDelay(longLock))
	c.add("queued", "x")
	return d
}

func invEnqueueQueueName(c *checker) {
	c.seed()
	for what, q := range badQueueNames {
		before := c.dump()
		r := c.enqueueAll(reqTo(q, "id", "x"))[0]
		c.wantInvalid("Enqueue to a queue name "+what, r.Err, "queue")
		if r.Action != 0 {
			c.Fatalf("Enqueue to a queue name %s: action %v", what, r.Action)
		}
		c.wantUnchanged(before, "Enqueue to a queue name "+what)
	}
}

func invEnqueueRequest(c *checker) {
	c.seed()
	many := map[string]string{}
	for i := range core.DefaultMaxHeaders + 1 {
		many[fmt.Sprintf("h%d", i)] = "v"
	}
	for _, tc := range []struct {
		what  string
		req   core.EnqueueRequest
		field string
	}{
		{"id with a control character", c.req("a\x01b", "x"), "id"},
		{"id of 257 bytes", c.req(strings.Repeat("i", core.MaxIDBytes+1), "x"), "id"},
		{"id not UTF-8", c.req("a\xffb", "x"), "id"},
		{"payload over the limit", core.EnqueueRequest{Queue: c.q, ID: "big", Payload: make([]byte, core.DefaultMaxPayloadBytes+1)}, "payload"},
		{"too many headers", c.req("h", "x", core.WithHeaders(many)), "headers"},
		{"headers over the size limit", c.req("h", "x", core.WithHeader("k", strings.Repeat("v", core.DefaultMaxHeaderBytes))), "headers"},
		{"empty header name", c.req("h", "x", core.WithHeader("", "v")), "headers"},
		{"negative delay", c.req("d", "x", core.WithDelay(-time.Millisecond)), "delay"},
		{"delay over the maximum", c.req("d", "x", core.WithDelay(core.MaxDuration+time.Second)), "delay"},
		{"negative lock duration", c.req("l", "x", core.WithLockDuration(-time.Second)), "lock duration"},
		{"reset-delay without a delay", c.req("queued", "x", core.WithUpdate(), core.WithResetDelay()), "options"},
	} {
		before := c.dump()
		r := c.enqueueAll(tc.req)[0]
		c.wantInvalid("Enqueue of "+tc.what, r.Err, tc.field)
		c.wantUnchanged(before, "Enqueue of "+tc.what)
	}
}

// Input exactly at a limit is accepted.
func invEnqueueLimitsInclusive(c *checker) {
	many := map[string]string{}
	for i := range core.DefaultMaxHeaders {
		many[fmt.Sprintf("h%02d", i)] = "v"
	}
	big := map[string]string{"k": strings.Repeat("v", core.DefaultMaxHeaderBytes-1)}
	longest := c.q + strings.Repeat("q", core.MaxQueueNameBytes-len(c.q))
	res := c.enqueueAll(
		core.EnqueueRequest{Queue: c.q, ID: "payload", Payload: make([]byte, core.DefaultMaxPayloadBytes)},
		c.req("many", "x", core.WithHeaders(many)),
		c.req("big", "x", core.WithHeaders(big)),
		core.EnqueueRequest{Queue: longest, ID: strings.Repeat("i", core.MaxIDBytes)},
	)
	for _, r := range res {
		c.wantAction(r, core.Added)
	}
	ds := c.dequeue(3, longLock).Messages
	if len(ds) != 3 || len(ds[0].Payload) != core.DefaultMaxPayloadBytes {
		c.Fatalf("took %q, want payload, many, big with the whole payload", idsOf(ds))
	}
	c.wantHeaders("many", ds[1].Headers, many)
	c.wantHeaders("big", ds[2].Headers, big)
	c.wantStatusIn(longest, strings.Repeat("i", core.MaxIDBytes), core.StatusQueued)
}

// One bad request in a batch gets its error; the others go through.
func invEnqueueBatch(c *checker) {
	res := c.enqueueAll(
		c.req("good1", "1"),
		c.req("bad", "x", core.WithDelay(-time.Second)),
		reqTo("", "bad-queue", "x"),
		c.req("good2", "2"),
	)
	c.wantAction(res[0], core.Added)
	c.wantInvalid("bad request in a batch", res[1].Err, "delay")
	c.wantInvalid("bad queue in a batch", res[2].Err, "queue")
	c.wantAction(res[3], core.Added)
	c.wantStatus("bad", core.StatusNone)
	ds := c.dequeue(10, longLock).Messages
	if len(ds) != 2 || ds[0].ID != "good1" || ds[1].ID != "good2" {
		c.Fatalf("took %q, want [good1 good2]", idsOf(ds))
	}
}

// A refused request's error names its queue, and its result carries the
// caller's id, or none: never a fresh id that names nothing.
func invEnqueueNames(c *checker) {
	c.seed()
	before := c.dump()
	res := c.enqueueAll(
		c.req("mine", "x", core.WithDelay(-time.Second)),
		c.req("", "x", core.WithDelay(-time.Second)),
		reqTo("a{b}", "", "x"),
	)
	c.wantUnchanged(before, "refused enqueues")
	for i, wantID := range []string{"mine", "", ""} {
		if res[i].ID != wantID || res[i].Action != 0 {
			c.Fatalf("refused request %d answered id %q action %v, want id %q", i, res[i].ID, res[i].Action, wantID)
		}
	}
	for i := range 2 {
		c.wantInvalid(fmt.Sprintf("refused request %d", i), res[i].Err, "delay")
		var ie *core.InvalidError
		_ = errors.As(res[i].Err, &ie)
		if ie.Queue != c.q || !strings.Contains(ie.Error(), fmt.Sprintf("queue %q", c.q)) {
			c.Fatalf("refused request %d: error %q (Queue %q) does not name queue %q", i, ie.Error(), ie.Queue, c.q)
		}
	}
	c.wantInvalid("bad queue name", res[2].Err, "queue")
}

// The publisher refuses WithID("") instead of making up an id, and a
// request it gave a fresh id that is refused comes back without one.
func invPublisher(c *checker) {
	c.seed()
	pub := core.NewPublisher(c.b())
	before := c.dump()

	r, err := pub.Enqueue(c.ctx, c.q, []byte("x"), core.WithID(""))
	c.wantInvalid(`WithID("")`, err, "id")
	if r.ID != "" || r.Err != err {
		c.Fatalf(`WithID(""): result %+v, want no id and the error`, r)
	}
	var ie *core.InvalidError
	if errors.As(err, &ie); ie.Queue != c.q {
		c.Fatalf(`WithID(""): error %q does not name queue %q`, err, c.q)
	}

	r, err = pub.Enqueue(c.ctx, c.q, []byte("x"), core.WithDelay(-time.Second))
	c.wantInvalid("Enqueue without an id, refused", err, "delay")
	if r.ID != "" {
		c.Fatalf("refused Enqueue without an id answered the fresh id %q", r.ID)
	}
	r, err = pub.Enqueue(c.ctx, c.q, []byte("x"), core.WithID("mine"), core.WithDelay(-time.Second))
	c.wantInvalid("Enqueue with an id, refused", err, "delay")
	if r.ID != "mine" {
		c.Fatalf("refused Enqueue with id mine answered id %q", r.ID)
	}
	c.wantUnchanged(before, "refused publisher enqueues")

	rs, err := pub.EnqueueBatch(c.ctx, []core.EnqueueRequest{
		{Queue: c.q, Payload: []byte("bad"), Delay: -time.Second},
		{Queue: c.q, Payload: []byte("good")},
	})
	if err != nil {
		c.Fatalf("EnqueueBatch: %v", err)
	}
	c.wantInvalid("refused request of a batch", rs[0].Err, "delay")
	if rs[0].ID != "" {
		c.Fatalf("refused request of a batch answered the fresh id %q", rs[0].ID)
	}
	c.wantAction(rs[1], core.Added)
	if rs[1].ID == "" {
		c.Fatal("accepted request of a batch answered no id")
	}
	c.wantStatus(rs[1].ID, core.StatusQueued)
}

func invDequeue(c *checker) {
	c.seed()
	check := func(what, queue string, max int, lock time.Duration, field string) {
		c.Helper()
		before := c.dump()
		res, err := c.b().Dequeue(c.ctx, core.DequeueParams{Queue: queue, Max: max, Lock: lock})
		c.wantInvalid("Dequeue with "+what, err, field)
		if len(res.Messages) != 0 {
			c.Fatalf("Dequeue with %s answered messages %q", what, idsOf(res.Messages))
		}
		c.wantUnchanged(before, "Dequeue with "+what)
	}
	for what, q := range badQueueNames {
		check("a queue name "+what, q, 1, longLock, "Queue")
	}
	check("zero lock", c.q, 1, 0, "Lock")
	check("negative lock", c.q, 1, -time.Second, "Lock")
	check("lock over the maximum", c.q, 1, core.MaxDuration+time.Second, "Lock")
	check("zero max", c.q, 0, longLock, "Max")
	check("negative max", c.q, -1, longLock, "Max")
}

func invAck(c *checker) {
	d := c.seed()
	good := ackOf(d, core.OutcomeSuccess, 0)
	for what, q := range badQueueNames {
		before := c.dump()
		errs, err := c.b().Ack(c.ctx, q, []core.Ack{good})
		c.wantInvalid("Ack on a queue name "+what, err, "queue")
		if errs != nil {
			c.Fatalf("Ack on a queue name %s answered per-ack errors %v", what, errs)
		}
		c.wantUnchanged(before, "Ack on a queue name "+what)
	}

	bad := []core.Ack{
		{ID: "", Token: d.Token},
		{ID: "a\x00", Token: d.Token},
		{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError + 1},
		{ID: d.ID, Token: d.Token, Outcome: core.OutcomeRetry, Backoff: -time.Second},
		{ID: d.ID, Token: d.Token, Outcome: core.OutcomeSuccess, Backoff: core.MaxDuration + time.Second},
	}
	fields := []string{"id", "id", "outcome", "backoff", "backoff"}
	before := c.dump()
	errs := c.acks(bad...)
	for i, err := range errs {
		c.wantInvalid(fmt.Sprintf("bad ack %d", i), err, fields[i])
	}
	c.wantUnchanged(before, "bad acks")
	c.wantStatus("locked", core.StatusLocked)

	// The good ack of a mixed batch applies.
	errs = c.acks(bad[2], good, bad[3])
	c.wantInvalid("bad ack before a good one", errs[0], "outcome")
	if errs[1] != nil {
		c.Fatalf("good ack in a batch with bad ones: %v", errs[1])
	}
	c.wantInvalid("bad ack after a good one", errs[2], "backoff")
	c.wantDoneOrGone("locked")
}

func invExtendLocks(c *checker) {
	d := c.seed()
	good := core.LockRef{ID: d.ID, Token: d.Token, Duration: longLock}
	for what, q := range badQueueNames {
		before := c.dump()
		errs, err := c.b().ExtendLocks(c.ctx, q, []core.LockRef{good})
		c.wantInvalid("ExtendLocks on a queue name "+what, err, "queue")
		if errs != nil {
			c.Fatalf("ExtendLocks on a queue name %s answered per-lock errors %v", what, errs)
		}
		c.wantUnchanged(before, "ExtendLocks on a queue name "+what)
	}
	before := c.dump()
	errs := c.extend(
		core.LockRef{ID: "", Token: d.Token, Duration: time.Second},
		core.LockRef{ID: d.ID, Token: d.Token, Duration: 0},
		core.LockRef{ID: d.ID, Token: d.Token, Duration: -time.Second},
	)
	c.wantInvalid("extension of an empty id", errs[0], "id")
	c.wantInvalid("extension by zero", errs[1], "lock duration")
	c.wantInvalid("extension by a negative duration", errs[2], "lock duration")
	c.wantUnchanged(before, "bad extensions")

	errs = c.extend(core.LockRef{ID: d.ID, Token: d.Token, Duration: 0}, good)
	c.wantInvalid("bad extension before a good one", errs[0], "lock duration")
	if errs[1] != nil {
		c.Fatalf("good extension in a batch with a bad one: %v", errs[1])
	}
}

func invAdmin(c *checker) {
	c.seed()
	b := c.b()
	for what, q := range badQueueNames {
		calls := map[string]func() error{
			"MessageStatus": func() error { _, err := b.MessageStatus(c.ctx, q, "locked"); return err },
			"QueueStats":    func() error { _, err := b.QueueStats(c.ctx, q); return err },
			"QueueContent":  func() error { _, _, err := b.QueueContent(c.ctx, q, "", 10); return err },
			"ClearQueues":   func() error { return b.ClearQueues(c.ctx, c.q, q) },
			"DeadLetters":   func() error { _, err := b.DeadLetters(c.ctx, q, 0, 10); return err },
			"RequeueDeadLetters": func() error {
				_, err := b.RequeueDeadLetters(c.ctx, q)
				return err
			},
			"PurgeDeadLetters": func() error { _, err := b.PurgeDeadLetters(c.ctx, q); return err },
			"Wait":             func() error { return b.Wait(c.ctx, q, time.Millisecond) },
		}
		for name, call := range calls {
			before := c.dump()
			c.wantInvalid(name+" with a queue name "+what, call(), "queue")
			c.wantUnchanged(before, name+" with a queue name "+what)
		}
	}
	for _, tc := range []struct {
		what  string
		call  func() error
		field string
	}{
		{"MessageStatus of an empty id", func() error { _, err := b.MessageStatus(c.ctx, c.q, ""); return err }, "id"},
		{"QueueContent with limit 0", func() error { _, _, err := b.QueueContent(c.ctx, c.q, "", 0); return err }, "limit"},
		{"DeadLetters with limit 0", func() error { _, err := b.DeadLetters(c.ctx, c.q, 0, 0); return err }, "limit"},
		{"DeadLetters with a negative offset", func() error { _, err := b.DeadLetters(c.ctx, c.q, -1, 10); return err }, "offset"},
		{"RequeueDeadLetters of an empty id", func() error { _, err := b.RequeueDeadLetters(c.ctx, c.q, "failed", ""); return err }, "id"},
	} {
		before := c.dump()
		c.wantInvalid(tc.what, tc.call(), tc.field)
		c.wantUnchanged(before, tc.what)
	}
}
