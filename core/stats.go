package core

import (
	"slices"
	"sync"
	"time"
)

// Durations summarises a sample of durations.
type Durations struct {
	Count               int64 // samples seen in all
	Min, Max, Mean      time.Duration
	P50, P90, P99, P999 time.Duration
}

// WorkerStats is a worker's view of its queue and its work so far.
// Percentiles are over the most recent samples (4096 by default).
type WorkerStats struct {
	// Running is true from Start until Stop is called: the worker takes
	// messages.
	Running bool

	QueueSize int64 // the queue's total at the last monitor reading
	// OldestReady is the queue's [QueueStats.OldestReady] at the last
	// monitor reading.
	OldestReady time.Duration
	Queueing    Durations // age at first handling
	Handling    Durations // time in the handler

	Success, Retry, Error int64
	Backoff               int64 // outcomes that asked for a backoff
	Sleeps                int64 // dequeues that found nothing and waited
	LockLost              int64 // messages whose lock was lost while held (each counted once)
	BackendErrors         int64
	InFlight              int64
	Canceled              int64 // handlings ended by a cancel (Queue.Cancel)
}

// MonitorInfo is what a monitor callback is told.
type MonitorInfo struct {
	Queue     string
	QueueSize int64
	Stats     QueueStats
	Err       error // the backend's error, if the queue could not be read
}

// reservoir keeps the most recent n samples and running totals.
type reservoir struct {
	mu       sync.Mutex
	ring     []time.Duration
	next     int
	count    int64
	sum      time.Duration
	min, max time.Duration
}

func newReservoir(n int) *reservoir { return &reservoir{ring: make([]time.Duration, 0, n)} }

func (r *reservoir) add(d time.Duration) {
	r.mu.Lock()
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, d)
	} else {
		r.ring[r.next] = d
		r.next = (r.next + 1) % len(r.ring)
	}
	if r.count == 0 || d < r.min {
		r.min = d
	}
	if d > r.max {
		r.max = d
	}
	r.count++
	r.sum += d
	r.mu.Unlock()
}

func (r *reservoir) summary() Durations {
	r.mu.Lock()
	s := slices.Clone(r.ring)
	out := Durations{Count: r.count, Min: r.min, Max: r.max}
	if r.count > 0 {
		out.Mean = r.sum / time.Duration(r.count)
	}
	r.mu.Unlock()
	if len(s) == 0 {
		return out
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	out.P50, out.P90, out.P99, out.P999 = at(0.50), at(0.90), at(0.99), at(0.999)
	return out
}
