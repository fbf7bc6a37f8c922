package redisqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// PauseQueue sets the queue's paused key, which dequeue.lua checks first
// in the same script call: no extra round trip per dequeue.
func (b *Backend) PauseQueue(ctx context.Context, queue string) error {
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	if err := b.client.Set(ctx, b.queuePrefix(queue)+sfxPaused, 1, 0).Err(); err != nil {
		return fmt.Errorf("redisqueue: pause %q: %w", queue, err)
	}
	return nil
}

// ResumeQueue deletes the queue's paused key and wakes a waiting worker
// if messages are ready (lua/resume.lua).
func (b *Backend) ResumeQueue(ctx context.Context, queue string) error {
	if err := core.ValidateQueueName(queue); err != nil {
		return err
	}
	k := b.keys(queue)
	if _, err := b.run(ctx, scriptResume, []string{k.paused, k.ready, k.wake}); err != nil {
		return fmt.Errorf("redisqueue: resume %q: %w", queue, err)
	}
	return nil
}

// CancelMessage cancels one message in one script call (lua/cancel.lua)
// and answers its status before the call.
func (b *Backend) CancelMessage(ctx context.Context, queue, id string) (core.Status, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return core.StatusNone, err
	}
	if err := core.ValidateID(id); err != nil {
		return core.StatusNone, err
	}
	k := b.keys(queue)
	reply, err := b.run(ctx, scriptCancel, []string{k.msgs, k.delay, k.requeue, k.locks, k.lockgrp}, id)
	if err != nil {
		return core.StatusNone, fmt.Errorf("redisqueue: cancel %q in %q: %w", id, queue, err)
	}
	code, err := replyInt(reply)
	if err != nil {
		return core.StatusNone, err
	}
	return core.Status(code), nil
}

// workerRecord is what the registry stores of a worker, after the times
// the script writes.
type workerRecord struct {
	ID          string    `json:"id"`
	Host        string    `json:"host,omitempty"`
	PID         int       `json:"pid,omitempty"`
	Queues      []string  `json:"queues,omitempty"`
	Concurrency int       `json:"concurrency,omitempty"`
	InFlight    int       `json:"in_flight"`
	StartedAt   time.Time `json:"started_at"`
}

// RegisterWorker stores the registration in the prefix's worker registry
// (one hash and one sorted set of expiries, under their own hash tag) in
// one script call; the script drops a few expired registrations on the
// way.
func (b *Backend) RegisterWorker(ctx context.Context, info core.WorkerInfo, ttl time.Duration) error {
	if err := core.ValidateWorkerInfo(&info, ttl); err != nil {
		return err
	}
	js, err := json.Marshal(workerRecord{ID: info.ID, Host: info.Host, PID: info.PID, Queues: info.Queues,
		Concurrency: info.Concurrency, InFlight: info.InFlight, StartedAt: info.StartedAt})
	if err != nil {
		return fmt.Errorf("redisqueue: register worker: %w", err)
	}
	if _, err := b.run(ctx, scriptWorkersReg, b.workerKeys(), info.ID, millis(ttl), js); err != nil {
		return fmt.Errorf("redisqueue: register worker: %w", err)
	}
	return nil
}

// UnregisterWorker removes a registration.
func (b *Backend) UnregisterWorker(ctx context.Context, id string) error {
	if err := core.ValidateID(id); err != nil {
		return err
	}
	k := b.workerKeys()
	if _, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, k[0], id)
		p.ZRem(ctx, k[1], id)
		return nil
	}); err != nil {
		return fmt.Errorf("redisqueue: unregister worker: %w", err)
	}
	return nil
}

// Workers lists the live registrations, by id, dropping expired ones.
func (b *Backend) Workers(ctx context.Context) ([]core.WorkerInfo, error) {
	reply, err := b.run(ctx, scriptWorkersList, b.workerKeys())
	if err != nil {
		return nil, fmt.Errorf("redisqueue: workers: %w", err)
	}
	a, err := replyArray(reply)
	if err != nil || len(a)%2 != 0 {
		return nil, fmt.Errorf("redisqueue: workers: malformed reply (%v)", err)
	}
	out := make([]core.WorkerInfo, 0, len(a)/2)
	for i := 0; i < len(a); i += 2 {
		id, v, err := replyPair(a[i:])
		if err != nil {
			return nil, err
		}
		var r workerRecord
		if len(v) < 12 || json.Unmarshal([]byte(v[12:]), &r) != nil {
			return nil, fmt.Errorf("redisqueue: corrupt worker registration %q", id)
		}
		out = append(out, core.WorkerInfo{
			ID: id, Host: r.Host, PID: r.PID, Queues: r.Queues, Concurrency: r.Concurrency,
			InFlight: r.InFlight, StartedAt: r.StartedAt,
			LastSeen:  time.UnixMilli(uint48(v[0:6])),
			ExpiresAt: time.UnixMilli(uint48(v[6:12])),
		})
	}
	slices.SortFunc(out, func(a, b core.WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
