package core

import (
	"context"
	"errors"
	"os"
	"time"
)

// cancelHandlings handles the heartbeat's news that the messages of refs
// were cancelled: a running handler's context is cancelled with
// [ErrCanceled]; a message not yet picked up by a handler is not handled.
// Each is told once.
func (w *Worker) cancelHandlings(refs []LockRef) {
	var cancels []context.CancelCauseFunc
	var told []string
	w.flightMu.Lock()
	for _, ref := range refs {
		k := lockKey{ref.ID, ref.Token}
		if _, waiting := w.inflight[k]; !waiting {
			continue
		}
		switch h := w.handlers[k]; {
		case h == nil: // taken, not yet picked up by a handler
			w.handlers[k] = &handling{canceled: true}
			told = append(told, ref.ID)
		case h.canceled || h.lost || h.done:
		default:
			h.canceled = true
			cancels = append(cancels, h.cancel)
			told = append(told, ref.ID)
		}
	}
	w.flightMu.Unlock()
	for _, c := range cancels {
		c(ErrCanceled)
	}
	for _, id := range told {
		w.cfg.logger.Info("redghost: message cancelled; its handling is cancelled", "queue", w.q.Name(), "id", id)
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

// registryTTL is how long a worker's registration outlives its last
// refresh: the lock duration (a crashed worker's messages come back then
// too), and at least three heartbeats.
func (w *Worker) registryTTL() time.Duration { return max(w.cfg.lock, 3*w.cfg.heartbeat) }

// info is the worker's registration as of now.
func (w *Worker) info() WorkerInfo {
	host, _ := os.Hostname()
	return WorkerInfo{
		ID:          w.id,
		Host:        host,
		PID:         os.Getpid(),
		Queues:      []string{w.q.Name()},
		Concurrency: w.cfg.concurrency,
		InFlight:    int(w.nflight.Load()),
		StartedAt:   w.startedAt,
	}
}

// register refreshes the worker's registration (on every heartbeat tick:
// one small call per interval).
func (w *Worker) register(ctx context.Context) {
	if err := w.q.b.RegisterWorker(ctx, w.info(), w.registryTTL()); err != nil && ctx.Err() == nil {
		w.cfg.logger.Debug("redghost: worker registration failed", "queue", w.q.Name(), "error", err)
	}
}

// unregister removes the registration when the worker has stopped.
func (w *Worker) unregister(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := w.q.b.UnregisterWorker(ctx, w.id); err != nil {
		w.cfg.logger.Debug("redghost: worker unregistration failed", "queue", w.q.Name(), "error", err)
	}
}
