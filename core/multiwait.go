package core

import (
	"context"
	"time"
)

// MultiWaiter is implemented by backends that can wait on many queues at
// once. A [Pool] uses it to wait for work on all its queues with one
// blocking call (for Redis, one blocking connection per node instead of
// one per queue); on a backend without it, an idle pool looks at each
// queue every max wait.
type MultiWaiter interface {
	// WaitAny waits as [Backend.Wait] does, but on every queue of
	// p.Queues at once, and answers the queues that were woken (an enqueue
	// or an ack that scheduled a sooner retry), in no particular order. It
	// answers when one is woken, with it and any others it learned of in
	// the same step; it answers none, and no error, when p.Timeout passes
	// first. A woken queue's wake is used up: it is not answered again
	// until it is woken again. A spurious wake is allowed; a missed one is
	// not. A zero timeout answers, without blocking, the queues woken
	// since their last wait. Invalid params (see [WaitAnyParams.Validate])
	// answer an [*InvalidError] naming the field; a done ctx answers its
	// error.
	WaitAny(ctx context.Context, p WaitAnyParams) ([]string, error)
}

// MaxWaitAnyQueues bounds how many queues one [MultiWaiter.WaitAny] waits
// on.
const MaxWaitAnyQueues = 10000

// WaitAnyParams says which queues one [MultiWaiter.WaitAny] waits on and
// for how long.
type WaitAnyParams struct {
	// Queues are the queues to wait on: at least one, at most
	// [MaxWaitAnyQueues], each a valid queue name, none twice.
	Queues []string
	// Timeout is the longest the wait lasts; zero does not block. It must
	// not be negative nor over [MaxDuration].
	Timeout time.Duration
}

// Validate answers an [*InvalidError] whose Field names the first bad
// field ("Queues" or "Timeout"), or nil.
func (p WaitAnyParams) Validate() error {
	if len(p.Queues) == 0 {
		return invalid("Queues", "empty")
	}
	if len(p.Queues) > MaxWaitAnyQueues {
		return invalid("Queues", "%d queues, more than the %d allowed", len(p.Queues), MaxWaitAnyQueues)
	}
	seen := make(map[string]struct{}, len(p.Queues))
	for _, q := range p.Queues {
		if err := validateName("Queues", q, MaxQueueNameBytes, true); err != nil {
			return err
		}
		if _, dup := seen[q]; dup {
			return invalid("Queues", "%q named twice", q)
		}
		seen[q] = struct{}{}
	}
	return ValidateDuration("Timeout", p.Timeout)
}
