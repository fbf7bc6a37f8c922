package core

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// ScheduleStore is implemented by backends that keep the state of periodic
// schedules (package schedule): for each schedule, the last slot it
// enqueued, and a registry of the schedules that run. Both live with the
// schedule's queue (on Redis, under the queue's hash tag).
//
// The last-slot record is what lets any number of processes run the same
// schedule without a leader: an id de-duplicates a slot's message only
// while the message is stored, and a process whose clock lags may try a
// slot after its message was handled and garbage-collected; the record
// still refuses it.
type ScheduleStore interface {
	// EnqueueSlot enqueues p.Request, the message of slot p.Slot of
	// schedule p.Schedule, at most once per slot, in one atomic step: if
	// the last slot recorded for the schedule on p.Request.Queue is at or
	// after p.Slot, it enqueues nothing and answers [ErrAlreadyQueued];
	// otherwise it enqueues as [Backend.Enqueue] does and records p.Slot
	// as the schedule's last slot, also when the enqueue is refused (the
	// slot's message is then in the queue already). Invalid params answer
	// an [*InvalidError] and record nothing. Slots are kept to the
	// millisecond.
	EnqueueSlot(ctx context.Context, p SlotParams) (EnqueueResult, error)

	// LastSlot is the last slot recorded for schedule name on queue, or
	// the zero time if none is.
	LastSlot(ctx context.Context, queue, name string) (time.Time, error)

	// RegisterSchedules records infos (their Last is ignored) in the
	// registry until ttl from now, by the backend's clock, replacing any
	// earlier registration of the same queue and name. Schedulers refresh
	// their registrations while they run.
	RegisterSchedules(ctx context.Context, infos []ScheduleInfo, ttl time.Duration) error

	// Schedules lists the registrations that have not expired, sorted by
	// queue then name, each with its Last slot from the last-slot record.
	Schedules(ctx context.Context) ([]ScheduleInfo, error)
}

// SlotParams is one slot of a schedule to enqueue.
type SlotParams struct {
	Schedule string    // the schedule's name, unique per queue
	Slot     time.Time // the slot's time; only later slots are enqueued
	// Request is the slot's message. Its ID must be set.
	Request EnqueueRequest
}

// Validate checks p: a valid schedule name (see [ValidateScheduleName]), a
// slot that is not the zero time and a request with its id set that lim
// accepts.
func (p *SlotParams) Validate(lim Limits) error {
	if err := ValidateScheduleName(p.Schedule); err != nil {
		return err
	}
	if p.Slot.IsZero() || p.Slot.UnixMilli() <= 0 {
		return invalid("slot", "must be after 1970-01-01, got %s", p.Slot)
	}
	if p.Request.ID == "" {
		return &InvalidError{Queue: p.Request.Queue, Field: "id", Reason: "empty (a slot's message needs its id)"}
	}
	return lim.Validate(&p.Request)
}

// MaxScheduleNameBytes bounds a schedule name, so that a slot's message id
// (the name, "@" and the slot's time) fits [MaxIDBytes].
const MaxScheduleNameBytes = 200

// ValidateScheduleName rejects names that [ValidateID] rejects and names
// over [MaxScheduleNameBytes].
func ValidateScheduleName(name string) error {
	return validateName("schedule", name, MaxScheduleNameBytes, false)
}

// ScheduleInfo is one registered schedule.
type ScheduleInfo struct {
	Queue string
	Name  string
	// Spec is the schedule as its scheduler was given it (a cron
	// expression, a descriptor such as "@hourly", or "@every 5m").
	Spec string
	// Next is the next slot, as the scheduler that registered it last saw.
	Next time.Time
	// Last is the last slot enqueued by any scheduler (zero: none yet).
	Last time.Time
}

// MaxScheduleSpecBytes bounds a registered schedule's Spec.
const MaxScheduleSpecBytes = 1024

// ValidateRegistration checks the arguments of
// [ScheduleStore.RegisterSchedules]: valid queue and schedule names, a
// spec that is not empty and not over [MaxScheduleSpecBytes], and a
// positive ttl.
func ValidateRegistration(infos []ScheduleInfo, ttl time.Duration) error {
	if err := validateTTL(ttl); err != nil {
		return err
	}
	for _, in := range infos {
		if err := ValidateQueueName(in.Queue); err != nil {
			return err
		}
		if err := ValidateScheduleName(in.Name); err != nil {
			return err
		}
		if in.Spec == "" || len(in.Spec) > MaxScheduleSpecBytes || !utf8.ValidString(in.Spec) {
			return &InvalidError{Queue: in.Queue, Field: "spec", Reason: fmt.Sprintf("must be 1 to %d bytes of UTF-8, got %d bytes", MaxScheduleSpecBytes, len(in.Spec))}
		}
	}
	return nil
}
