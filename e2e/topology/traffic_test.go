package topology

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
)

// traffic is a publisher and a worker on one queue, and the record of
// what was accepted (an enqueue answered without error) and handled.
type traffic struct {
	t     testing.TB
	queue string
	w     *core.Worker

	stopPub context.CancelFunc
	pubDone chan struct{}

	mu       sync.Mutex
	accepted map[string]time.Time // id -> when the enqueue was confirmed
	order    []string             // ids in order of acceptance
	handled  map[string]bool

	gate atomic.Pointer[chan struct{}] // while set, handlers wait for it to close

	failures    atomic.Int64 // failed enqueue calls (retried with the same id)
	notRepl     atomic.Int64 // of which redisqueue.ErrNotReplicated
	lastFailure atomic.Value // error
}

// startTraffic starts a worker on queue and a publisher that enqueues one
// message of payloadSize bytes per call, as fast as calls return, retrying a failed call with
// the same id until it is confirmed.
func startTraffic(t testing.TB, b core.Backend, queue string, payloadSize int) *traffic {
	t.Helper()
	tr := &traffic{t: t, queue: queue, accepted: map[string]time.Time{}, handled: map[string]bool{}, pubDone: make(chan struct{})}
	tr.w = newWorker(t, b, queue, func(ctx context.Context, m *core.Message) core.Result {
		if g := tr.gate.Load(); g != nil {
			<-*g
		}
		tr.mu.Lock()
		tr.handled[m.ID] = true
		tr.mu.Unlock()
		return core.Success()
	})
	if err := tr.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tr.release()
		tr.stopPublishing()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.w.Stop(ctx)
	})
	ctx, cancel := context.WithCancel(context.Background())
	tr.stopPub = cancel
	pub := core.NewPublisher(b)
	payload := make([]byte, payloadSize)
	go func() {
		defer close(tr.pubDone)
		for seq := 0; ctx.Err() == nil; seq++ {
			id := fmt.Sprintf("m%07d", seq)
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
				res, err := pub.Enqueue(cctx, queue, payload, core.WithID(id))
				ccancel()
				if err == nil {
					err = res.Err
				}
				// Already queued: an earlier attempt got through.
				if err == nil || errors.Is(err, core.ErrAlreadyQueued) {
					tr.mu.Lock()
					tr.accepted[id] = time.Now()
					tr.order = append(tr.order, id)
					tr.mu.Unlock()
					break
				}
				if ctx.Err() != nil {
					return
				}
				tr.failures.Add(1)
				if errors.Is(err, redisqueue.ErrNotReplicated) {
					tr.notRepl.Add(1)
				}
				tr.lastFailure.Store(err)
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	return tr
}

// hold makes the handlers wait until release, so that a backlog builds up.
func (tr *traffic) hold() {
	g := make(chan struct{})
	tr.gate.Store(&g)
}

func (tr *traffic) release() {
	if g := tr.gate.Swap(nil); g != nil {
		close(*g)
	}
}

func (tr *traffic) stopPublishing() {
	tr.stopPub()
	<-tr.pubDone
}

// acceptedCount answers how many messages were accepted so far.
func (tr *traffic) acceptedCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.order)
}

// waitAccepted waits until n more messages than now are accepted.
func (tr *traffic) waitAccepted(n int, d time.Duration) {
	tr.t.Helper()
	from := tr.acceptedCount()
	eventually(tr.t, d, fmt.Sprintf("%d more enqueues confirmed", n), func() error {
		if got := tr.acceptedCount() - from; got < n {
			return fmt.Errorf("%d confirmed; %d failed calls, last: %v", got, tr.failures.Load(), tr.lastFailure.Load())
		}
		return nil
	})
}

// drain stops the publisher and waits until every accepted message is
// handled, or until nothing more is handled for quiet (longer than the
// worker's lock, so that messages a dead node had locked come back).
// It answers the accepted ids never handled, in order of acceptance.
func (tr *traffic) drain(quiet, max time.Duration) (lost []string) {
	tr.stopPublishing()
	start, last, lastN := time.Now(), time.Now(), -1
	for {
		tr.mu.Lock()
		lost = lost[:0]
		for _, id := range tr.order {
			if !tr.handled[id] {
				lost = append(lost, id)
			}
		}
		n := len(tr.handled)
		tr.mu.Unlock()
		if len(lost) == 0 {
			return nil
		}
		if n != lastN {
			last, lastN = time.Now(), n
		}
		if time.Since(last) > quiet || time.Since(start) > max {
			return slices.Clone(lost)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// acceptedAt answers when id was confirmed.
func (tr *traffic) acceptedAt(id string) time.Time {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.accepted[id]
}

// acceptedAfter answers the ids confirmed after ts.
func (tr *traffic) acceptedAfter(ts time.Time) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var ids []string
	for _, id := range tr.order {
		if tr.accepted[id].After(ts) {
			ids = append(ids, id)
		}
	}
	return ids
}

// report logs the run's figures and answers them as one line.
func (tr *traffic) report(what string, lost []string) string {
	tr.mu.Lock()
	acc, handled := len(tr.order), len(tr.handled)
	tr.mu.Unlock()
	line := fmt.Sprintf("%s: %d enqueues confirmed, %d handled, %d lost (confirmed, never handled); %d failed enqueue calls retried (%d not confirmed replicated)",
		what, acc, handled, len(lost), tr.failures.Load(), tr.notRepl.Load())
	tr.t.Log(line)
	return line
}
