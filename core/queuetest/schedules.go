package queuetest

import (
	"errors"
	"time"

	"github.com/redghost/redghost/core"
)

// featureSchedules is the Schedules group's capability.
func featureSchedules(f Features, b core.Backend) (string, bool, bool) {
	_, has := b.(core.ScheduleStore)
	return "Schedules", f.Schedules, has
}

var scheduleCases = []testCase{
	{"SlotOnce", schedSlotOnce},
	{"SlotKeepsLimits", schedSlotLimits},
	{"SlotRefusedAfterGC", schedSlotAfterGC},
	{"RefusedEnqueueRecordsSlot", schedRefusedRecords},
	{"SchedulesApart", schedApart},
	{"Invalid", schedInvalid},
	{"Registry", schedRegistry},
	{"ClearQueues", schedClear},
}

// ss is the backend as a ScheduleStore (the group runs only when it is one).
func (c *checker) ss() core.ScheduleStore { return c.b().(core.ScheduleStore) }

// slotAt is the n-th minute of a fixed day, a schedule's n-th slot.
func slotAt(n int) time.Time {
	return time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
}

func (c *checker) slotReq(name string, n int) core.SlotParams {
	slot := slotAt(n)
	return core.SlotParams{Schedule: name, Slot: slot, Request: c.req(name+"@"+slot.Format(time.RFC3339), "tick")}
}

func (c *checker) enqueueSlot(p core.SlotParams) core.EnqueueResult {
	c.Helper()
	res, err := c.ss().EnqueueSlot(c.ctx, p)
	if !errors.Is(err, res.Err) || (err == nil) != (res.Err == nil) {
		c.Fatalf("EnqueueSlot(%s): error %v but result error %v", p.Slot, err, res.Err)
	}
	if res.Err == nil && res.ID != p.Request.ID {
		c.Fatalf("EnqueueSlot: result id %q, want %q", res.ID, p.Request.ID)
	}
	return res
}

func (c *checker) wantLastSlot(queue, name string, want time.Time) {
	c.Helper()
	got, err := c.ss().LastSlot(c.ctx, queue, name)
	if err != nil {
		c.Fatalf("LastSlot(%q, %q): %v", queue, name, err)
	}
	if !got.Equal(want) {
		c.Fatalf("LastSlot(%q, %q) = %v, want %v", queue, name, got, want)
	}
}

// A slot is enqueued once: again, or any earlier slot, is refused and
// writes nothing; a later slot goes in.
func schedSlotOnce(c *checker) {
	c.wantLastSlot(c.q, "tick", time.Time{})
	c.wantAction(c.enqueueSlot(c.slotReq("tick", 5)), core.Added)
	c.wantLastSlot(c.q, "tick", slotAt(5))
	c.wantStatus("tick@"+slotAt(5).Format(time.RFC3339), core.StatusQueued)

	before := c.dump()
	c.wantRefused(c.enqueueSlot(c.slotReq("tick", 5)), core.ErrAlreadyQueued)
	c.wantRefused(c.enqueueSlot(c.slotReq("tick", 4)), core.ErrAlreadyQueued)
	c.wantUnchanged(before, "a slot at or before the last")
	c.wantLastSlot(c.q, "tick", slotAt(5))

	c.wantAction(c.enqueueSlot(c.slotReq("tick", 6)), core.Added)
	c.wantLastSlot(c.q, "tick", slotAt(6))
	c.wantStats(c.q, core.QueueStats{Queued: 2, Total: 2})
}

// A slot's message keeps its own limits, as an enqueue's does.
func schedSlotLimits(c *checker) {
	p := c.slotReq("tick", 1)
	p.Request.MaxAttempts, p.Request.Timeout = 3, 5*time.Second
	c.wantAction(c.enqueueSlot(p), core.Added)
	d := c.take(longLock)
	if d.MaxAttempts != 3 || d.Timeout != 5*time.Second {
		c.Fatalf("slot message limits: %d attempts, timeout %s; want 3 and 5s", d.MaxAttempts, d.Timeout)
	}
}

// The record holds the slot after its message is handled and gone, when
// de-duplication by id no longer would.
func schedSlotAfterGC(c *checker) {
	p := c.slotReq("tick", 1)
	c.wantAction(c.enqueueSlot(p), core.Added)
	d := c.take(longLock)
	c.ack(d, core.OutcomeSuccess, 0)
	c.nothing() // a visit gcs it if the ack did not
	c.wantStatus(p.Request.ID, core.StatusNone)

	before := c.dump()
	c.wantRefused(c.enqueueSlot(p), core.ErrAlreadyQueued)
	c.wantUnchanged(before, "a handled slot tried again")
	c.nothing()
}

// An enqueue refused by the queue (the id is there) still records the
// slot: its message is in the queue.
func schedRefusedRecords(c *checker) {
	p := c.slotReq("tick", 1)
	c.add(p.Request.ID, "by hand")
	c.wantRefused(c.enqueueSlot(p), core.ErrAlreadyQueued)
	c.wantLastSlot(c.q, "tick", slotAt(1))
	d := c.take(longLock)
	c.wantPayload("the message enqueued by hand", d.Payload, "by hand")
}

// Schedules are apart by queue and by name.
func schedApart(c *checker) {
	other := c.queue("other")
	c.wantAction(c.enqueueSlot(c.slotReq("a", 3)), core.Added)
	c.wantAction(c.enqueueSlot(c.slotReq("b", 1)), core.Added)
	p := c.slotReq("a", 1)
	p.Request.Queue = other
	c.wantAction(c.enqueueSlot(p), core.Added)
	c.wantLastSlot(c.q, "a", slotAt(3))
	c.wantLastSlot(c.q, "b", slotAt(1))
	c.wantLastSlot(other, "a", slotAt(1))
}

func schedInvalid(c *checker) {
	before := c.dump()
	bad := []struct {
		field string
		p     func(p *core.SlotParams)
	}{
		{"schedule", func(p *core.SlotParams) { p.Schedule = "" }},
		{"schedule", func(p *core.SlotParams) { p.Schedule = "a\nb" }},
		{"slot", func(p *core.SlotParams) { p.Slot = time.Time{} }},
		{"id", func(p *core.SlotParams) { p.Request.ID = "" }},
		{"queue", func(p *core.SlotParams) { p.Request.Queue = "" }},
		{"delay", func(p *core.SlotParams) { p.Request.Delay = -time.Second }},
	}
	for _, b := range bad {
		p := c.slotReq("tick", 1)
		b.p(&p)
		res, err := c.ss().EnqueueSlot(c.ctx, p)
		c.wantInvalid("EnqueueSlot", err, b.field)
		c.wantInvalid("EnqueueSlot result", res.Err, b.field)
	}
	_, err := c.ss().LastSlot(c.ctx, c.q, "")
	c.wantInvalid("LastSlot", err, "schedule")
	info := core.ScheduleInfo{Queue: c.q, Name: "tick", Spec: "@hourly"}
	c.wantInvalid("RegisterSchedules", c.ss().RegisterSchedules(c.ctx, []core.ScheduleInfo{info}, 0), "ttl")
	info.Spec = ""
	c.wantInvalid("RegisterSchedules", c.ss().RegisterSchedules(c.ctx, []core.ScheduleInfo{info}, time.Minute), "spec")
	c.wantUnchanged(before, "invalid schedule calls")
	c.wantLastSlot(c.q, "tick", time.Time{})
}

func (c *checker) schedules() []core.ScheduleInfo {
	c.Helper()
	list, err := c.ss().Schedules(c.ctx)
	if err != nil {
		c.Fatalf("Schedules: %v", err)
	}
	return list
}

func (c *checker) wantSchedules(want ...core.ScheduleInfo) {
	c.Helper()
	got := c.schedules()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.Queue == w.Queue && g.Name == w.Name && g.Spec == w.Spec && g.Next.Equal(w.Next) && g.Last.Equal(w.Last)
	}
	if !ok {
		c.Fatalf("Schedules:\n got %+v\nwant %+v", got, want)
	}
}

// Registrations list sorted by queue and name, with the last slot from
// the record; a refresh replaces one; they expire after their ttl.
func schedRegistry(c *checker) {
	c.wantSchedules()
	other := c.queue("z")
	a := core.ScheduleInfo{Queue: c.q, Name: "b", Spec: "@every 1m", Next: slotAt(2)}
	b := core.ScheduleInfo{Queue: c.q, Name: "a", Spec: "0 3 * * *", Next: slotAt(60)}
	z := core.ScheduleInfo{Queue: other, Name: "a", Spec: "@hourly", Next: slotAt(120)}
	if err := c.ss().RegisterSchedules(c.ctx, []core.ScheduleInfo{a, z}, longLock); err != nil {
		c.Fatalf("RegisterSchedules: %v", err)
	}
	if err := c.ss().RegisterSchedules(c.ctx, []core.ScheduleInfo{b}, 300*time.Millisecond); err != nil {
		c.Fatalf("RegisterSchedules: %v", err)
	}
	c.wantAction(c.enqueueSlot(c.slotReq("b", 1)), core.Added)
	a.Last = slotAt(1)
	c.wantSchedules(b, a, z)

	a.Next = slotAt(3)
	if err := c.ss().RegisterSchedules(c.ctx, []core.ScheduleInfo{a}, longLock); err != nil {
		c.Fatalf("RegisterSchedules: %v", err)
	}
	c.wantSchedules(b, a, z)
	c.advance(300*time.Millisecond + margin)
	c.wantSchedules(a, z)
}

// ClearQueues forgets the schedules of the cleared queues.
func schedClear(c *checker) {
	other := c.queue("other")
	c.wantAction(c.enqueueSlot(c.slotReq("tick", 1)), core.Added)
	p := c.slotReq("tick", 1)
	p.Request.Queue = other
	c.wantAction(c.enqueueSlot(p), core.Added)
	info := []core.ScheduleInfo{{Queue: c.q, Name: "tick", Spec: "@hourly"}, {Queue: other, Name: "tick", Spec: "@hourly"}}
	if err := c.ss().RegisterSchedules(c.ctx, info, longLock); err != nil {
		c.Fatalf("RegisterSchedules: %v", err)
	}
	if err := c.b().ClearQueues(c.ctx, c.q); err != nil {
		c.Fatalf("ClearQueues: %v", err)
	}
	c.wantLastSlot(c.q, "tick", time.Time{})
	c.wantLastSlot(other, "tick", slotAt(1))
	info[1].Last = slotAt(1)
	c.wantSchedules(info[1])
}
