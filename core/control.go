package core

import (
	"context"
	"slices"
	"time"
)

// Pause stops every worker, in every process, from taking messages from
// the queue within one wait cycle (see [WithMaxWait]); enqueues still
// succeed, and messages already taken are handled and acknowledged. The
// pause is stored in the backend, so it holds for workers started later,
// until [Queue.Resume]. [Queue.Clear] lifts it with everything else.
func (q *Queue) Pause(ctx context.Context) error { return q.b.PauseQueue(ctx, q.name) }

// Resume lifts a pause; idle workers take messages again within one wait
// cycle.
func (q *Queue) Resume(ctx context.Context) error { return q.b.ResumeQueue(ctx, q.name) }

// Cancel cancels message id and answers the status it had (StatusNone:
// nothing to cancel). By that status:
//
//   - queued, queued-with-backoff: the message is removed; it is never
//     handled.
//   - locked, locked-with-requeue: any pending requeue copy is dropped and
//     the message is marked; the next heartbeat of the worker that holds
//     it answers [ErrCanceled], and the worker cancels the handler's
//     context with that cause. The handler's answer then ends the message:
//     a success is a success, a failure that is not the cancellation is an
//     error (dead-lettered), and a retry, or a failure caused by the
//     cancellation, marks it done without a dead letter (the worker counts
//     it in [WorkerStats.Canceled]). If its handler never answers, the
//     message is dropped when its lock expires instead of being handled
//     again. An enqueue with [WithRequeue] after the cancel stores a new
//     copy as usual.
//   - done-with-requeue: the pending copy is dropped.
//   - done-awaiting-gc, done-with-backoff: nothing changes.
func (q *Queue) Cancel(ctx context.Context, id string) (Status, error) {
	return q.b.CancelMessage(ctx, q.name, id)
}

// Workers lists the running workers that handle this queue (see
// [Inspector.Workers], which lists all of them).
func (q *Queue) Workers(ctx context.Context) ([]WorkerInfo, error) {
	all, err := q.b.Workers(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, w := range all {
		if slices.Contains(w.Queues, q.name) {
			out = append(out, w)
		}
	}
	return out, nil
}

// WorkerInfo is one running worker as it registers itself in its backend,
// for operators and dashboards ([Inspector.Workers]).
type WorkerInfo struct {
	// ID is the worker's unique id (fresh for every worker).
	ID   string
	Host string
	PID  int
	// Queues lists the queues it handles: a [Worker]'s one, or every
	// queue of a [Pool] as of its last heartbeat.
	Queues []string
	// Concurrency is its bound on concurrent handlers (a pool's budget,
	// shared by its queues).
	Concurrency int
	// InFlight counts the messages the worker held at its last heartbeat.
	InFlight  int
	StartedAt time.Time
	// LastSeen is when the registration was last refreshed, by the
	// backend's clock; the backend sets it.
	LastSeen time.Time
	// ExpiresAt is when the registration lapses unless refreshed, by the
	// backend's clock; the backend sets it.
	ExpiresAt time.Time
}

// ValidateWorkerInfo checks a registration: an id as a message id, queue
// names, a positive ttl of at most [MaxDuration].
func ValidateWorkerInfo(info *WorkerInfo, ttl time.Duration) error {
	if err := validateName("worker id", info.ID, MaxIDBytes, false); err != nil {
		return err
	}
	for _, q := range info.Queues {
		if err := ValidateQueueName(q); err != nil {
			return err
		}
	}
	return validateTTL(ttl)
}

// validateTTL checks the lifetime of a registration (a worker's or a set
// of schedules'): positive and within [ValidateDuration]'s bounds.
func validateTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return invalid("ttl", "must be positive, got %s", ttl)
	}
	return ValidateDuration("ttl", ttl)
}
