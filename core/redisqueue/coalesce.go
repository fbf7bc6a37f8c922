package redisqueue

import (
	"context"
	"fmt"
	"sync"
)

// Coalescing of concurrent enqueues.
//
// One message per script call costs Redis a script's fixed cost per
// message (about 16 µs, against about 2.5 µs per message in a batch), so
// concurrent Enqueue calls to one queue share script calls, as rueidis's
// auto-pipelining shares round trips, with no change to the caller's API:
//
//   - A chunk (one call's requests for one queue, at most maxBatch) whose
//     queue has no enqueue script in flight from this Backend is sent at
//     once by its caller: no timer, no added latency.
//   - A chunk that arrives while a script call of its queue is in flight
//     joins the queue's pending flight and its caller waits.
//   - When a script call returns, the pending flight (if any) is launched
//     at once: one of its waiters becomes its leader and sends the whole
//     flight with one script call, on its own goroutine. No goroutine is
//     started per call.
//   - A pending flight is bounded (maxBatch messages, maxBatchBytes of
//     bodies): a chunk that would overflow it launches it as a second
//     flight in parallel and starts a new pending one.
//   - A waiter whose context ends before its flight is launched leaves it
//     and answers ctx.Err(); nothing of it was sent. Once launched, it gets
//     the real answers (the leader sends with its context's values but
//     without its cancellation, so that one caller's deadline cannot fail
//     the others' requests).
//
// The script applies a flight's requests in order, each seeing the effect
// of the earlier ones, exactly as if the calls had run one after the other
// in that order; concurrent calls have no order between them anyway.

// lanes holds the coalescing state of every queue that has an enqueue in
// flight. A queue's lane exists only while it has a flight or a pending
// flight, so the map stays as small as the set of busy queues.
type lanes struct {
	mu      sync.Mutex
	byQueue map[string]*lane
}

type lane struct {
	flights int     // script calls in flight
	pending *flight // the flight being filled; nil when none
}

// flight is one script call's worth of chunks of one queue.
type flight struct {
	waiters []*waiter
	n       int // messages
	bytes   int // bodies
}

// waiter is one chunk and its caller.
type waiter struct {
	c     *enqueueChunk
	f     *flight       // the flight it joined
	taken bool          // the flight was launched (under lanes.mu)
	lead  bool          // this waiter sends the flight (set before ready)
	ready chan struct{} // one signal: lead, or the answers are in
	codes []int64
	err   error
}

func newLanes() *lanes { return &lanes{byQueue: make(map[string]*lane)} }

// sendChunk runs the enqueue script for c, alone or coalesced with other
// callers' chunks of the same queue, and answers c's own codes.
func (b *Backend) sendChunk(ctx context.Context, c *enqueueChunk) ([]int64, error) {
	ls := b.lanes
	w := &waiter{c: c}
	ls.mu.Lock()
	l := ls.byQueue[c.queue]
	if l == nil {
		l = &lane{}
		ls.byQueue[c.queue] = l
	}
	if l.flights == 0 && l.pending == nil {
		// Nothing in flight: send at once, on the caller's own context.
		l.flights = 1
		ls.mu.Unlock()
		b.fly(ctx, l, &flight{waiters: []*waiter{w}, n: len(c.idx), bytes: c.bytes}, w)
		return w.codes, w.err
	}
	f := l.pending
	if f != nil && (f.n+len(c.idx) > maxBatch || f.bytes+c.bytes > maxBatchBytes) {
		ls.launch(l, f) // full: a second flight
		f = nil
	}
	if f == nil {
		f = &flight{}
		l.pending = f
	}
	w.f = f
	w.ready = make(chan struct{}, 1)
	f.waiters = append(f.waiters, w)
	f.n += len(c.idx)
	f.bytes += c.bytes
	if f.n >= maxBatch || f.bytes >= maxBatchBytes {
		ls.launch(l, f)
	}
	ls.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
		ls.mu.Lock()
		if !w.taken {
			f.remove(w)
			if len(f.waiters) == 0 && l.pending == f {
				l.pending = nil
			}
			ls.mu.Unlock()
			return nil, ctx.Err()
		}
		ls.mu.Unlock()
		<-w.ready // already sent (or about to be): the real answers
	}
	if w.lead {
		b.fly(context.WithoutCancel(ctx), l, f, w)
	}
	return w.codes, w.err
}

// launch takes f out of l's pending slot and makes its first waiter its
// leader. Called with ls.mu held; f has at least one waiter.
func (ls *lanes) launch(l *lane, f *flight) {
	if l.pending == f {
		l.pending = nil
	}
	l.flights++
	for _, w := range f.waiters {
		w.taken = true
	}
	lead := f.waiters[0]
	lead.lead = true
	lead.ready <- struct{}{}
}

func (f *flight) remove(w *waiter) {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.n -= len(w.c.idx)
			f.bytes -= w.c.bytes
			return
		}
	}
}

// fly sends flight f (whose leader, self, is the calling goroutine),
// launches the queue's pending flight as soon as the call returns, and
// hands every waiter its answers.
func (b *Backend) fly(ctx context.Context, l *lane, f *flight, self *waiter) {
	queue := self.c.queue
	var opts []byte
	var args []any
	if len(f.waiters) == 1 {
		opts, args = self.c.opts, self.c.args
		if self.c.plain {
			opts = nil
		}
	} else {
		args = make([]any, 1, 1+2*f.n) // the options slot, then the chunks' mid, body
		plain := true
		for _, w := range f.waiters {
			args = append(args, w.c.args[1:]...)
			plain = plain && w.c.plain
		}
		if plain { // and distinct across the chunks?
			seen := make(map[string]struct{}, f.n)
			for j := 1; j < len(args) && plain; j += 2 {
				id := args[j].(string)
				_, dup := seen[id]
				seen[id] = struct{}{}
				plain = !dup
			}
		}
		if !plain {
			opts = make([]byte, 0, 13*f.n)
			for _, w := range f.waiters {
				opts = append(opts, w.c.opts...)
			}
		}
	}
	codes, err := b.runEnqueue(ctx, queue, opts, args, f.n)

	off := 0
	for _, w := range f.waiters {
		n := len(w.c.idx)
		if err != nil {
			w.err = err
		} else {
			w.codes = codes[off : off+n : off+n]
		}
		off += n
		if w != self {
			w.ready <- struct{}{}
		}
	}

	// The pending flight goes out now. Its leader is woken last, so that
	// the scheduler runs it next rather than behind the waiters just woken.
	ls := b.lanes
	ls.mu.Lock()
	l.flights--
	if l.pending != nil {
		ls.launch(l, l.pending)
	} else if l.flights == 0 {
		delete(ls.byQueue, queue)
	}
	ls.mu.Unlock()
}

// runEnqueue runs the enqueue script once and answers its n codes. args
// are its ARGV, whose first, the options, it fills in: opts, or "" for
// nil, which marks a plain batch (see enqueueChunk).
func (b *Backend) runEnqueue(ctx context.Context, queue string, opts []byte, args []any, n int) ([]int64, error) {
	if opts == nil {
		args[0] = ""
	} else {
		args[0] = opts
	}
	keys := b.enqueueKeys(queue)
	var reply any
	var err error
	if b.cfg.ackReplicas > 0 {
		reply, err = b.runAcked(ctx, scriptEnqueue, keys, args...)
	} else {
		reply, err = b.run(ctx, scriptEnqueue, keys, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("redisqueue: enqueue to %q: %w", queue, err)
	}
	if all, ok := reply.(int64); ok { // a plain batch, all added
		if all != int64(n) {
			return nil, fmt.Errorf("redisqueue: enqueue to %q: script added %d of %d", queue, all, n)
		}
		codes := make([]int64, n)
		for i := range codes {
			codes[i] = 1
		}
		return codes, nil
	}
	return replyInts(reply, n)
}
