package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
)

// t0 is where the manual clocks of these tests start: a whole hour.
var t0 = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

// skewedClock is one process's view of a shared manual clock: its Now is
// off by skew; its timers run on the shared clock.
type skewedClock struct {
	base *queuetest.ManualClock
	skew time.Duration
}

func (c skewedClock) Now() time.Time { return c.base.Now().Add(c.skew) }
func (c skewedClock) AfterFunc(d time.Duration, f func()) func() bool {
	return c.base.AfterFunc(d, f)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// proc is one scheduler process of a test, run in the background, whose
// waits the test follows: wake is when (on the shared clock) it will run
// next.
type proc struct {
	t      *testing.T
	s      *Scheduler
	skew   time.Duration
	waits  chan time.Time
	wake   time.Time
	cancel context.CancelFunc
	done   chan error
}

// start runs a scheduler with skew on base, with the schedules that add
// adds, and waits until it blocks.
func start(t *testing.T, b core.Backend, base *queuetest.ManualClock, skew time.Duration, add func(*Scheduler), opts ...Option) *proc {
	t.Helper()
	s, err := New(b, append([]Option{WithClock(skewedClock{base, skew}), WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	add(s)
	p := &proc{t: t, s: s, skew: skew, waits: make(chan time.Time), done: make(chan error, 1)}
	s.waiting = func(until time.Time) { p.waits <- until.Add(-skew) }
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- s.Run(ctx) }()
	t.Cleanup(p.stop)
	p.next()
	return p
}

// next waits until the process blocks again and notes when it wakes.
func (p *proc) next() {
	p.t.Helper()
	select {
	case p.wake = <-p.waits:
	case <-time.After(10 * time.Second):
		p.t.Fatal("scheduler did not come to a wait")
	}
}

// settle follows the process through every wake due by now.
func (p *proc) settle(now time.Time) {
	p.t.Helper()
	for p.done != nil && !p.wake.After(now) {
		p.next()
	}
}

func (p *proc) stop() {
	if p.done == nil {
		return
	}
	p.cancel()
	for {
		select {
		case <-p.waits: // a wait begun before the cancel
		case err := <-p.done:
			if err != nil {
				p.t.Errorf("Run: %v", err)
			}
			p.done = nil
			return
		}
	}
}

func newMem(t *testing.T, clock core.Clock) *memqueue.Backend {
	t.Helper()
	b, err := memqueue.New(memqueue.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drain handles (acks as done) every ready message of queue, so that it
// is garbage-collected, and answers their ids.
func drain(t *testing.T, b core.Backend, queue string) []string {
	t.Helper()
	var ids []string
	for {
		res, err := b.Dequeue(context.Background(), core.DequeueParams{Queue: queue, Max: 100, Lock: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return ids
		}
		acks := make([]core.Ack, len(res.Messages))
		for i, d := range res.Messages {
			ids = append(ids, d.ID)
			acks[i] = core.Ack{ID: d.ID, Token: d.Token}
		}
		if _, err := b.Ack(context.Background(), queue, acks); err != nil {
			t.Fatal(err)
		}
	}
}

// Three schedulers whose clocks are seconds apart run one schedule; one is
// killed and restarted mid-run. Every message is handled (and gone) as
// soon as it is enqueued, so a late scheduler finds nothing to de-duplicate
// against: the backend's slot record must refuse it. 100 slots give exactly
// 100 messages, one per slot.
func TestSkewedSchedulersEnqueueEachSlotOnce(t *testing.T) {
	t.Parallel()
	base := queuetest.NewManualClock(t0.Add(5 * time.Second))
	b := newMem(t, base)
	add := func(s *Scheduler) {
		if err := s.Add("tick", "@every 10s", "jobs", map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}
	skews := []time.Duration{0, 2 * time.Second, -3 * time.Second}
	procs := make([]*proc, len(skews))
	for i, sk := range skews {
		procs[i] = start(t, b, base, sk, add)
	}

	seen := make(map[string]int)
	// Slot k is at t0+10k s: the fastest clock (+2 s) reaches slot 100 at
	// t0+998 s, the slowest (-3 s) at t0+1003 s, and no clock reaches
	// slot 101 (t0+1008 s for the fastest) before the end.
	for now := base.Now(); now.Before(t0.Add(1005 * time.Second)); now = base.Now() {
		switch now {
		case t0.Add(333 * time.Second):
			procs[1].stop() // killed: it is ahead, and misses its slots
		case t0.Add(517 * time.Second):
			procs[1] = start(t, b, base, skews[1], add)
		}
		base.Advance(time.Second)
		for _, p := range procs {
			p.settle(base.Now())
		}
		for _, id := range drain(t, b, "jobs") {
			seen[id]++
		}
	}
	for _, p := range procs {
		p.stop()
	}
	for _, id := range drain(t, b, "jobs") {
		seen[id]++
	}
	if len(seen) != 100 {
		t.Errorf("%d distinct slots enqueued, want 100", len(seen))
	}
	for k := 1; k <= 100; k++ {
		id := SlotID("tick", t0.Add(time.Duration(10*k)*time.Second))
		if seen[id] != 1 {
			t.Errorf("slot %s enqueued %d times, want once", id, seen[id])
		}
	}
}

// After downtime the schedule resumes from the backend's last slot: with
// the default it skips the missed slots and enqueues the latest; with
// WithCatchUp(n) it enqueues the n missed before it too, oldest first.
func TestMissedSlots(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    []ScheduleOption
		want    []int // the slots (minutes past t0) enqueued after downtime
		catchUp int
	}{
		{"SkipByDefault", nil, []int{15}, 0},
		{"CatchUp3", []ScheduleOption{WithCatchUp(3)}, []int{12, 13, 14, 15}, 3},
		{"CatchUpMoreThanMissed", []ScheduleOption{WithCatchUp(100)}, []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := queuetest.NewManualClock(t0.Add(30 * time.Second))
			b := newMem(t, base)
			add := func(s *Scheduler) {
				if err := s.Add("minutely", "* * * * *", "jobs", "x", tc.opts...); err != nil {
					t.Fatal(err)
				}
			}
			p := start(t, b, base, 0, add)
			for range 2 { // slots 1 and 2, on time
				base.Advance(time.Minute)
				p.settle(base.Now())
			}
			if got := drain(t, b, "jobs"); len(got) != 2 {
				t.Fatalf("before downtime: %v, want slots 1 and 2", got)
			}
			p.stop()
			base.Advance(13 * time.Minute) // down from t0+2m30s to t0+15m30s
			p = start(t, b, base, 0, add)
			got := drain(t, b, "jobs")
			var want []string
			for _, m := range tc.want {
				want = append(want, SlotID("minutely", t0.Add(time.Duration(m)*time.Minute)))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after downtime enqueued\n %v\nwant\n %v", got, want)
			}
			// Then on time again.
			base.Advance(time.Minute)
			p.settle(base.Now())
			if got := drain(t, b, "jobs"); len(got) != 1 || got[0] != SlotID("minutely", t0.Add(16*time.Minute)) {
				t.Errorf("next slot: %v", got)
			}
		})
	}
}

// A scheduled message goes through the publisher's middleware, with its
// slot and schedule headers, its payload in the codec, its id the slot's.
func TestPublishMiddlewareSeesScheduledMessage(t *testing.T) {
	t.Parallel()
	base := queuetest.NewManualClock(t0.Add(30 * time.Second))
	b := newMem(t, base)
	seen := make(chan core.EnqueueRequest, 10)
	mw := func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			for i := range reqs {
				reqs[i].Headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
				seen <- reqs[i]
			}
			return next.Send(ctx, reqs)
		})
	}
	add := func(s *Scheduler) {
		if err := s.Add("report", "0 * * * *", "reports", map[string]string{"kind": "hourly"}, WithEnqueueOptions(core.WithLockDuration(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, b, base, 0, add, WithPublisherOptions(core.WithPublishMiddleware(mw)))
	base.Advance(time.Hour)
	p.settle(base.Now())
	slot := t0.Add(time.Hour)
	select {
	case r := <-seen:
		if r.ID != SlotID("report", slot) || r.Queue != "reports" || string(r.Payload) != `{"kind":"hourly"}` ||
			r.Headers[SlotHeader] != "2030-01-02T04:00:00Z" || r.Headers[ScheduleHeader] != "report" || r.LockDuration != time.Minute {
			t.Errorf("middleware saw %+v", r)
		}
	default:
		t.Fatal("the middleware saw no request")
	}
	res, err := b.Dequeue(context.Background(), core.DequeueParams{Queue: "reports", Max: 1, Lock: time.Minute})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("Dequeue: %v %v", res, err)
	}
	m := res.Messages[0].Message
	if got, ok := SlotOf(&m); !ok || !got.Equal(slot) {
		t.Errorf("SlotOf = %v, %v; want %v", got, ok, slot)
	}
	if m.Headers["traceparent"] == "" {
		t.Errorf("the middleware's header did not reach the message: %v", m.Headers)
	}
}

// Running schedulers register their schedules with next and last slots;
// a registration expires once no scheduler refreshes it.
func TestRegistry(t *testing.T) {
	t.Parallel()
	base := queuetest.NewManualClock(t0.Add(30 * time.Second))
	b := newMem(t, base)
	add := func(s *Scheduler) {
		if err := s.Add("nightly", "CRON_TZ=Europe/Paris 0 3 * * *", "reports", "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.Add("tick", "@every 1m", "jobs", "x"); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, b, base, 0, add, WithRegistryTTL(3*time.Minute))
	base.Advance(time.Minute)
	p.settle(base.Now())
	list, err := List(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	want := []core.ScheduleInfo{
		{Queue: "jobs", Name: "tick", Spec: "@every 1m", Next: t0.Add(2 * time.Minute), Last: t0.Add(time.Minute)},
		{Queue: "reports", Name: "nightly", Spec: "CRON_TZ=Europe/Paris 0 3 * * *", Next: time.Date(2030, 1, 3, 3, 0, 0, 0, paris)},
	}
	if !sameInfos(list, want) {
		t.Errorf("List:\n got %v\nwant %v", list, want)
	}
	p.stop()
	base.Advance(3 * time.Minute)
	if list, err := List(context.Background(), b); err != nil || len(list) != 0 {
		t.Errorf("after the ttl: %v, %v", list, err)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	b := newMem(t, core.SystemClock{})
	if _, err := New(nil); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("New(nil): %v", err)
	}
	if _, err := New(noSchedules{b}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("New on a backend without schedules: %v", err)
	}
	for _, o := range []Option{WithClock(nil), WithLogger(nil), WithRegistryTTL(0)} {
		if _, err := New(b, o); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("New with a bad option: %v", err)
		}
	}
	s, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, spec, queue string
		opts              []ScheduleOption
		field             string
	}{
		{"", "@hourly", "q", nil, "schedule"},
		{"a", "@hourly", "", nil, "queue"},
		{"a", "", "q", nil, "spec"},
		{"a", "61 * * * *", "q", nil, "spec"},
		{"a", "* * *", "q", nil, "spec"},
		{"a", "@every", "q", nil, "spec"},
		{"a", "@every -1s", "q", nil, "spec"},
		{"a", "@every 1500us", "q", nil, "spec"},
		{"a", "@fortnightly", "q", nil, "spec"},
		{"a", "CRON_TZ=Europe/Paris", "q", nil, "spec"},
		{"a", "CRON_TZ=Nowhere/Atall 0 3 * * *", "q", nil, "spec"},
		{"a", "0 0 30 2 *", "q", nil, "spec"},
		{"a", "@hourly", "q", []ScheduleOption{WithTimeZone(nil)}, "WithTimeZone"},
		{"a", "@hourly", "q", []ScheduleOption{WithCatchUp(-1)}, "WithCatchUp"},
	} {
		err := s.Add(tc.name, tc.spec, tc.queue, "x", tc.opts...)
		var ie *core.InvalidError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("Add(%q, %q, %q): %v, want an invalid %s", tc.name, tc.spec, tc.queue, err, tc.field)
		}
	}
	if err := s.Add("a", "@hourly", "q", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("a", "@daily", "q", "x"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("a name added twice: %v", err)
	}
	if _, err := List(context.Background(), noSchedules{b}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("List on a backend without schedules: %v", err)
	}
}

// noSchedules hides a backend's ScheduleStore.
type noSchedules struct{ core.Backend }

func sameInfos(got, want []core.ScheduleInfo) bool {
	if len(got) != len(want) {
		return false
	}
	for i, g := range got {
		w := want[i]
		if g.Queue != w.Queue || g.Name != w.Name || g.Spec != w.Spec || !g.Next.Equal(w.Next) || !g.Last.Equal(w.Last) {
			return false
		}
	}
	return true
}

// flakyStore fails the first n EnqueueSlot calls, as a backend that is
// down would.
type flakyStore struct {
	*memqueue.Backend
	mu    sync.Mutex
	fails int
	calls int
}

func (f *flakyStore) EnqueueSlot(ctx context.Context, p core.SlotParams) (core.EnqueueResult, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		err := errors.New("connection refused")
		return core.EnqueueResult{ID: p.Request.ID, Err: err}, err
	}
	return f.Backend.EnqueueSlot(ctx, p)
}

// A failing enqueue is retried with growing backoff until it goes in; the
// slot is not lost.
func TestFailedEnqueueIsRetried(t *testing.T) {
	t.Parallel()
	base := queuetest.NewManualClock(t0.Add(30 * time.Second))
	mem := newMem(t, base)
	b := &flakyStore{Backend: mem, fails: 3}
	add := func(s *Scheduler) {
		if err := s.Add("minutely", "* * * * *", "jobs", "x"); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, b, base, 0, add)
	base.Advance(30 * time.Second) // slot 1: fails, retried after 100 ms
	p.settle(base.Now())
	var waits []time.Duration
	for range 3 {
		waits = append(waits, p.wake.Sub(base.Now()))
		base.Advance(p.wake.Sub(base.Now()))
		p.settle(base.Now())
	}
	if fmt.Sprint(waits) != "[100ms 200ms 400ms]" {
		t.Errorf("retries after %v, want 100ms, 200ms, 400ms", waits)
	}
	if got := drain(t, mem, "jobs"); len(got) != 1 || got[0] != SlotID("minutely", t0.Add(time.Minute)) {
		t.Errorf("enqueued %v, want slot 1", got)
	}
	if p.wake.Sub(base.Now()) > time.Minute {
		t.Errorf("after the retries the scheduler waits %v", p.wake.Sub(base.Now()))
	}
}

// A message the backend refuses as invalid is skipped, not retried: the
// next slot is waited for.
func TestInvalidMessageIsSkipped(t *testing.T) {
	t.Parallel()
	base := queuetest.NewManualClock(t0.Add(30 * time.Second))
	b, err := memqueue.New(memqueue.WithClock(base), memqueue.WithLimits(core.Limits{MaxPayloadBytes: 4}))
	if err != nil {
		t.Fatal(err)
	}
	add := func(s *Scheduler) {
		if err := s.Add("minutely", "* * * * *", "jobs", "far too long"); err != nil {
			t.Fatal(err)
		}
	}
	p := start(t, b, base, 0, add)
	base.Advance(30 * time.Second)
	p.settle(base.Now())
	// The next wake is the registration's refresh (every 20 s), not a
	// retry's 100 ms.
	if got := p.wake.Sub(base.Now()); got != 20*time.Second {
		t.Errorf("after an invalid message the scheduler waits %v, want 20s", got)
	}
	if got := drain(t, b, "jobs"); len(got) != 0 {
		t.Errorf("enqueued %v", got)
	}
}
