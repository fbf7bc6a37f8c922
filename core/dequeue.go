package core

import "time"

// DequeueParams says what one [Backend.Dequeue] takes. Every field is
// required; the zero value is invalid. New fields will be added with
// zero values that keep today's behaviour.
type DequeueParams struct {
	// Queue is the queue to take from.
	Queue string
	// Max is the most messages to take; it must be positive. A backend may
	// take fewer in one call (Redis takes at most 1000).
	Max int
	// Lock is how long each taken message is locked when it has no lock
	// duration of its own; it must be positive and at most [MaxDuration].
	Lock time.Duration
}

// Validate answers an [*InvalidError] whose Field names the first bad
// field ("Queue", "Max" or "Lock"), or nil.
func (p DequeueParams) Validate() error {
	if err := validateName("Queue", p.Queue, MaxQueueNameBytes, true); err != nil {
		return err
	}
	if p.Max < 1 {
		return invalid("Max", "must be positive, got %d", p.Max)
	}
	if p.Lock <= 0 {
		return invalid("Lock", "must be positive, got %s", p.Lock)
	}
	return ValidateDuration("Lock", p.Lock)
}

// WaitDequeueParams says how long one [WaitDequeuer.WaitDequeue] may wait
// and what it then takes.
type WaitDequeueParams struct {
	DequeueParams
	// Timeout is the longest the wait lasts. Zero: no wait, the call is a
	// Dequeue. It must not be negative nor over [MaxDuration].
	Timeout time.Duration
}

// Validate answers an [*InvalidError] whose Field names the first bad
// field ("Queue", "Max", "Lock" or "Timeout"), or nil.
func (p WaitDequeueParams) Validate() error {
	if err := p.DequeueParams.Validate(); err != nil {
		return err
	}
	return ValidateDuration("Timeout", p.Timeout)
}
