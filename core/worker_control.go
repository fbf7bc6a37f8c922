package core

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

// cancelHandlings handles the heartbeat's news that the messages of refs
// were cancelled: a running handler's context is cancelled with
// [ErrCanceled]; a message not yet picked up by a handler is not handled.
// Each is told once.
func (r *queueRunner) cancelHandlings(refs []LockRef) {
	var cancels []context.CancelCauseFunc
	var told []string
	r.flightMu.Lock()
	for _, ref := range refs {
		k := lockKey{ref.ID, ref.Token}
		switch f := r.flights[k]; {
		case f == nil: // released by its ack since the snapshot
		case f.canceled || f.lost || f.done:
		case f.cancel == nil: // taken, not yet picked up by a handler
			f.canceled = true
			told = append(told, ref.ID)
		default:
			f.canceled = true
			cancels = append(cancels, f.cancel)
			told = append(told, ref.ID)
		}
	}
	r.flightMu.Unlock()
	for _, c := range cancels {
		c(ErrCanceled)
	}
	for _, id := range told {
		r.conf.logger.Info("redghost: message cancelled; its handling is cancelled", "queue", r.name, "id", id)
	}
}

// endsCanceled reports whether res, the answer of a handler whose message
// was cancelled, ends the message as cancelled: a retry, or a failure
// caused by the cancellation. A success stays a success, and any other
// failure an error.
func endsCanceled(res Result) bool {
	switch res.Outcome {
	case OutcomeRetry:
		return true
	case OutcomeError:
		return errors.Is(res.Err, ErrCanceled) || errors.Is(res.Err, context.Canceled)
	}
	return false
}

// registration is a worker's or a pool's entry in its backend's registry
// ([Inspector.Workers]): made when it starts, refreshed at every heartbeat
// tick (one small call per interval), removed when it stops.
type registration struct {
	b         Backend
	conf      *workerConfig
	id        string
	startedAt time.Time // set by Start
	// held answers the queues handled and the messages held, as of now.
	held func() (queues []string, inFlight int)
}

// ttl is how long a registration outlives its last refresh: the lock
// duration (a crashed worker's messages come back then too), and at least
// three heartbeats.
func (g *registration) ttl() time.Duration { return max(g.conf.lock, 3*g.conf.heartbeat) }

// hostname is the host's name, read once for the process rather than at
// every heartbeat tick that refreshes a registration.
var hostname = sync.OnceValue(func() string {
	host, _ := os.Hostname()
	return host
})

// info is the registration as of now.
func (g *registration) info() WorkerInfo {
	queues, inFlight := g.held()
	return WorkerInfo{
		ID:          g.id,
		Host:        hostname(),
		PID:         os.Getpid(),
		Queues:      queues,
		Concurrency: g.conf.concurrency,
		InFlight:    inFlight,
		StartedAt:   g.startedAt,
	}
}

// register makes or refreshes the registration.
func (g *registration) register(ctx context.Context) {
	info := g.info()
	if err := g.b.RegisterWorker(ctx, info, g.ttl()); err != nil && ctx.Err() == nil {
		g.conf.logger.Debug("redghost: worker registration failed", "queues", info.Queues, "error", err)
	}
}

// unregister removes the registration once everything has stopped.
func (g *registration) unregister(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := g.b.UnregisterWorker(ctx, g.id); err != nil {
		g.conf.logger.Debug("redghost: worker unregistration failed", "worker", g.id, "error", err)
	}
}
