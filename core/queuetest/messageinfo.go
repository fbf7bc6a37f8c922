package queuetest

import (
	"time"

	"github.com/redghost/redghost/core"
)

// featureMessageInspector is the MessageInfo group's capability.
func featureMessageInspector(f Features, b core.Backend) (string, bool, bool) {
	_, has := b.(core.MessageInspector)
	return "MessageInspector", f.MessageInspector, has
}

var messageInfoCases = []testCase{
	{"MatchesContent", miMatchesContent},
	{"Absent", miAbsent},
	{"Invalid", miInvalid},
}

func (c *checker) mi() core.MessageInspector { return c.b().(core.MessageInspector) }

func (c *checker) messageInfo(queue, id string) (core.MessageInfo, bool) {
	c.Helper()
	m, found, err := c.mi().MessageInfo(c.ctx, queue, id)
	if err != nil {
		c.Fatalf("MessageInfo(%q, %q): %v", queue, id, err)
	}
	return m, found
}

// MessageInfo answers, message by message, what QueueContent lists, in
// every status (the times by the same clock, so within a margin).
func miMatchesContent(c *checker) {
	// Each take finds only the message just added ready.
	c.add("locked", "p-locked")
	c.take(longLock)
	c.add("requeue", "p-requeue")
	c.take(longLock)
	c.wantAction(c.enq("requeue", "p-requeue-2", core.WithRequeue()), core.Added)
	c.add("held", "p-held")
	c.ack(c.take(longLock), core.OutcomeSuccess, longLock)
	c.add("retry", "p-retry")
	c.ack(c.take(longLock), core.OutcomeRetry, longLock)
	c.add("delayed", "p-delayed", core.WithDelay(longLock))
	c.add("queued", "p-queued", core.WithHeader("k", "v"), core.WithHeader("traceparent", "00-x"))
	c.advance(2 * margin) // ages above zero

	want := map[core.Status]bool{}
	listed := c.content(c.q, 100)
	if len(listed) != 6 {
		c.Fatalf("QueueContent lists %d messages, want 6", len(listed))
	}
	for _, l := range listed {
		want[l.Status] = true
		m, found := c.messageInfo(c.q, l.ID)
		if !found {
			c.Fatalf("MessageInfo(%q): not found, but QueueContent lists it", l.ID)
		}
		if m.ID != l.ID || m.Status != l.Status || string(m.Payload) != string(l.Payload) ||
			m.Attempt != l.Attempt || m.Requeue != l.Requeue {
			c.Errorf("MessageInfo(%q) = %+v\nQueueContent lists %+v", l.ID, m, l)
		}
		c.wantHeaders("MessageInfo("+l.ID+")", m.Headers, l.Headers)
		for _, d := range []struct {
			name      string
			got, want time.Duration
		}{{"Age", m.Age, l.Age}, {"LockLeft", m.LockLeft, l.LockLeft}, {"Backoff", m.Backoff, l.Backoff}} {
			if d.got < d.want-margin || d.got > d.want+margin || (d.want == 0) != (d.got == 0) {
				c.Errorf("MessageInfo(%q).%s = %s, QueueContent lists %s", l.ID, d.name, d.got, d.want)
			}
		}
	}
	for _, s := range []core.Status{core.StatusQueued, core.StatusQueuedWithBackoff, core.StatusLocked,
		core.StatusLockedWithRequeue, core.StatusDoneWithBackoff} {
		if !want[s] {
			c.Errorf("no message in status %s to compare", s)
		}
	}
}

// An id that no message has, in a queue that exists or not, is not found
// and not an error.
func miAbsent(c *checker) {
	c.add("there", "x")
	for _, q := range []string{c.q, c.queue("nosuch")} {
		m, found := c.messageInfo(q, "absent")
		if found || m.ID != "" || m.Payload != nil {
			c.Errorf("MessageInfo(%q, absent) = %+v, %v; want not found", q, m, found)
		}
	}
}

// Bad input is an *InvalidError naming it, and writes nothing.
func miInvalid(c *checker) {
	c.add("there", "x")
	before := c.dump()
	_, _, err := c.mi().MessageInfo(c.ctx, "", "there")
	c.wantInvalid("MessageInfo with an empty queue name", err, "queue")
	_, _, err = c.mi().MessageInfo(c.ctx, c.q, "")
	c.wantInvalid("MessageInfo with an empty id", err, "id")
	c.wantUnchanged(before, "a refused MessageInfo")
}
