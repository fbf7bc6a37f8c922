package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redghost/redghost/core"
)

// Headers of a scheduled message.
const (
	// SlotHeader holds the slot's time, RFC 3339 with fractional seconds,
	// in UTC.
	SlotHeader = "redghost-slot"
	// ScheduleHeader holds the schedule's name.
	ScheduleHeader = "redghost-schedule"
)

// DefaultRegistryTTL is how long a registration lasts unless a scheduler
// refreshes it (see [WithRegistryTTL]).
const DefaultRegistryTTL = time.Minute

// Scheduler enqueues messages on schedules. Build it with [New], add
// schedules with [Scheduler.Add], then call [Scheduler.Run]. Any number of
// schedulers, in any number of processes, may run the same schedules on
// the same backend: each slot is enqueued once.
type Scheduler struct {
	store   core.ScheduleStore
	pub     *core.Publisher
	clock   core.Clock
	log     *slog.Logger
	ttl     time.Duration
	entries []*entry
	byKey   map[[2]string]bool

	mu      sync.Mutex
	running bool

	// waiting, when set (by tests), is called each time the loop blocks,
	// with the time (on the scheduler's clock) it will wake at.
	waiting func(until time.Time)
}

// entry is one schedule.
type entry struct {
	name, spec, queue string
	table             timetable
	payload           any
	enqOpts           []core.EnqueueOption
	catchUp           int

	cursor time.Time // the last slot tried, or known to be done
}

// Option configures a [Scheduler].
type Option func(*config)

type config struct {
	clock   core.Clock
	log     *slog.Logger
	ttl     time.Duration
	pubOpts []core.PublisherOption
}

// WithClock sets the clock slots are read from (default
// [core.SystemClock]). A clock with an AfterFunc method, as
// queuetest.ManualClock has, also times the scheduler's waits, so that a
// test moves it by hand.
func WithClock(c core.Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(cfg *config) { cfg.log = l } }

// WithRegistryTTL sets how long the scheduler's registrations (what
// `redghost schedules` lists) last; it refreshes them every third of it
// (default [DefaultRegistryTTL]).
func WithRegistryTTL(d time.Duration) Option { return func(cfg *config) { cfg.ttl = d } }

// WithPublisherOptions configures the publisher the scheduled messages go
// through: its codec and its publish middleware (tracing, metrics), as
// [core.NewPublisher] takes them.
func WithPublisherOptions(opts ...core.PublisherOption) Option {
	return func(cfg *config) { cfg.pubOpts = append(cfg.pubOpts, opts...) }
}

// New returns a scheduler that enqueues onto b. b must keep schedules
// ([core.ScheduleStore]: both backends of this module do). A backend
// without it or an invalid option is an [*core.InvalidError] naming it.
func New(b core.Backend, opts ...Option) (*Scheduler, error) {
	if b == nil {
		return nil, &core.InvalidError{Field: "backend", Reason: "nil"}
	}
	store, ok := b.(core.ScheduleStore)
	if !ok {
		return nil, &core.InvalidError{Field: "backend", Reason: fmt.Sprintf("%T does not keep schedules (core.ScheduleStore)", b)}
	}
	cfg := config{clock: core.SystemClock{}, log: slog.Default(), ttl: DefaultRegistryTTL}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.clock == nil:
		return nil, &core.InvalidError{Field: "WithClock", Reason: "nil clock"}
	case cfg.log == nil:
		return nil, &core.InvalidError{Field: "WithLogger", Reason: "nil logger"}
	case cfg.ttl < time.Millisecond || cfg.ttl > core.MaxDuration:
		return nil, &core.InvalidError{Field: "WithRegistryTTL", Reason: fmt.Sprintf("must be from 1ms to %s, got %s", core.MaxDuration, cfg.ttl)}
	}
	s := &Scheduler{store: store, clock: cfg.clock, log: cfg.log, ttl: cfg.ttl, byKey: make(map[[2]string]bool)}
	s.pub = core.NewPublisher(slotSender{Backend: b, store: store}, cfg.pubOpts...)
	return s, nil
}

// ScheduleOption configures one schedule of [Scheduler.Add].
type ScheduleOption func(*entryConfig)

type entryConfig struct {
	loc     *time.Location
	catchUp int
	enqOpts []core.EnqueueOption
}

// WithTimeZone sets the time zone a cron expression is read in (default
// UTC, so that processes in different zones agree on the slots). A
// "CRON_TZ=Europe/Paris " prefix in the expression itself wins. Intervals
// (@every) do not depend on it.
func WithTimeZone(loc *time.Location) ScheduleOption {
	return func(c *entryConfig) { c.loc = loc }
}

// WithCatchUp sets what happens to slots missed while no scheduler of the
// schedule ran (or while the one that ran was stalled): when a scheduler
// finds several slots due, it enqueues the latest one and, before it, at
// most n of the missed ones, the latest n, oldest first; older ones are
// skipped. The default, 0, skips every missed slot: after downtime the
// schedule's message is enqueued once, for its latest slot.
func WithCatchUp(n int) ScheduleOption { return func(c *entryConfig) { c.catchUp = n } }

// WithEnqueueOptions adds options to every enqueue of the schedule (a
// delay, a lock duration, headers). Its id is the schedule's own:
// "<name>@<slot>".
func WithEnqueueOptions(opts ...core.EnqueueOption) ScheduleOption {
	return func(c *entryConfig) { c.enqOpts = append(c.enqOpts, opts...) }
}

// Add adds schedule name, enqueueing payload to queue on spec's slots.
// The payload is encoded with the publisher's codec (a []byte as is).
//
// spec is a cron expression of 5 fields (minute, hour, day of month,
// month, day of week) or 6 (seconds first), optionally prefixed by
// "CRON_TZ=<zone> "; a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly); or "@every <duration>", a fixed interval whose slots are its
// multiples since the Unix epoch (so that all processes agree on them).
//
// Each slot's message has the id "<name>@<slot>" (slot in RFC 3339, UTC)
// and the headers [SlotHeader] and [ScheduleHeader]. A new schedule's
// first slot is the first after its first scheduler starts. Processes
// that run the same schedule should give it the same spec and options.
//
// A name already added for the queue, an invalid name, queue or spec, a
// spec that has no slot in the next five years, an invalid option, or a
// call after Run is an [*core.InvalidError].
func (s *Scheduler) Add(name, spec, queue string, payload any, opts ...ScheduleOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return &core.InvalidError{Field: "Add", Reason: "the scheduler runs already: add schedules before Run"}
	}
	if err := core.ValidateScheduleName(name); err != nil {
		return err
	}
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	if s.byKey[[2]string{queue, name}] {
		return &core.InvalidError{Queue: queue, Field: "schedule", Reason: fmt.Sprintf("%q added twice", name)}
	}
	cfg := entryConfig{loc: time.UTC}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.loc == nil:
		return &core.InvalidError{Queue: queue, Field: "WithTimeZone", Reason: "nil location"}
	case cfg.catchUp < 0:
		return &core.InvalidError{Queue: queue, Field: "WithCatchUp", Reason: fmt.Sprintf("must not be negative, got %d", cfg.catchUp)}
	}
	if len(spec) > core.MaxScheduleSpecBytes {
		return &core.InvalidError{Queue: queue, Field: "spec", Reason: fmt.Sprintf("%d bytes, more than the %d allowed", len(spec), core.MaxScheduleSpecBytes)}
	}
	table, err := parseSpec(spec, cfg.loc)
	if err != nil {
		return &core.InvalidError{Queue: queue, Field: "spec", Reason: err.Error()}
	}
	if table.next(s.clock.Now()).IsZero() {
		return &core.InvalidError{Queue: queue, Field: "spec", Reason: fmt.Sprintf("%q has no slot in the next five years", spec)}
	}
	s.entries = append(s.entries, &entry{name: name, spec: spec, queue: queue, table: table, payload: payload, enqOpts: cfg.enqOpts, catchUp: cfg.catchUp})
	s.byKey[[2]string{queue, name}] = true
	return nil
}

// SlotOf answers the slot time of a scheduled message (from its
// [SlotHeader]), and false for a message that has none.
func SlotOf(m *core.Message) (time.Time, bool) {
	v, ok := m.Headers[SlotHeader]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// SlotID is the message id of a schedule's slot.
func SlotID(name string, slot time.Time) string {
	return name + "@" + slot.UTC().Format(time.RFC3339Nano)
}

// List answers the schedules registered in b by running schedulers, with
// their next and last slots. A backend that keeps no schedules answers an
// error matching errors.ErrUnsupported.
func List(ctx context.Context, b core.Inspector) ([]core.ScheduleInfo, error) {
	store, ok := b.(core.ScheduleStore)
	if !ok {
		return nil, fmt.Errorf("schedule: %T keeps no schedules: %w", b, errors.ErrUnsupported)
	}
	return store.Schedules(ctx)
}

// slotKey is the context key under which a scheduler hands the slot being
// enqueued to its innermost sender.
type slotKey struct{}

type slotCall struct {
	name string
	slot time.Time
}

// slotSender is the backend under the scheduler's publisher: an enqueue
// that carries a slot goes to EnqueueSlot, after the publisher's
// middleware has seen it.
type slotSender struct {
	core.Backend
	store core.ScheduleStore
}

func (s slotSender) Enqueue(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
	call, ok := ctx.Value(slotKey{}).(slotCall)
	if !ok || len(reqs) != 1 {
		return s.Backend.Enqueue(ctx, reqs)
	}
	res, err := s.store.EnqueueSlot(ctx, core.SlotParams{Schedule: call.name, Slot: call.slot, Request: reqs[0]})
	if err != nil && !errors.Is(err, res.Err) {
		return nil, err // the call failed, not the request
	}
	return []core.EnqueueResult{res}, nil
}
