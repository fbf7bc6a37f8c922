package core

import "sync"

// handleLoop is one of the pool's handler goroutines: it takes the next
// message by the pool's priorities and handles it, until the pool stops
// and nothing is left; then it leaves handlers. When its handling is
// abandoned (see [Handling.Abandon]), the goroutine that answers it
// resumes the loop in its place, with its count in handlers, and this one
// ends when its handler returns.
func (p *Pool) handleLoop(handlers *sync.WaitGroup) {
	s := &slot{}
	s.resume = func() {
		p.mu.Lock()
		p.handledLocked(s.pq)
		p.handleLocked(s, handlers)
	}
	p.mu.Lock()
	p.handleLocked(s, handlers)
}

// handleLocked is handleLoop's loop, entered with p.mu held.
func (p *Pool) handleLocked(s *slot, handlers *sync.WaitGroup) {
	for {
		q, d := p.pickLocked()
		if d == nil {
			if p.noMore && p.buffered == 0 {
				p.mu.Unlock()
				handlers.Done()
				return
			}
			s.pq = nil // idle: not holding on to a queue that may be removed
			p.work.Wait()
			continue
		}
		p.mu.Unlock()
		s.pq = q
		if !q.handle(d, s) {
			return
		}
		p.mu.Lock()
		p.handledLocked(q)
	}
}

// handledLocked counts a handling of q as done and wakes whom it may
// concern. Call with p.mu held.
func (p *Pool) handledLocked(q *poolQueue) {
	q.running--
	q.outstanding--
	p.total--
	p.busy--
	p.closeAcksIfDrained(q)
	if q.cfg.capped && len(q.buf) > 0 {
		p.work.Broadcast() // its cap has room again
	}
	// Wake the fetcher when it has room for what it waits to take, or
	// when the handlers run out of messages.
	if p.wantKick && (p.total <= p.kickBelow || p.buffered == 0 || q.cfg.capped) {
		p.wantKick = false
		p.kickFetcher()
	}
}

// pickLocked takes the next buffered message to handle: weighted, from
// the queue whose turn (virtual time) comes first; strict, from the queue
// of highest priority, ties by turn. Ties of turn go to the queue
// registered first (p.order's). Queues at their cap are passed over.
func (p *Pool) pickLocked() (*poolQueue, *Delivery) {
	var best *poolQueue
	for _, q := range p.order {
		if len(q.buf) == 0 || (q.cfg.capped && q.running >= q.cfg.concurrency) {
			continue
		}
		if best == nil {
			best = q
			continue
		}
		if p.cfg.strict && q.cfg.priority != best.cfg.priority {
			if q.cfg.priority > best.cfg.priority {
				best = q
			}
			continue
		}
		if q.pass < best.pass {
			best = q
		}
	}
	if best == nil {
		return nil, nil
	}
	p.vt = best.pass
	best.pass += 1 / best.weight(p.cfg.strict)
	d := best.buf[0]
	best.buf[0] = nil
	best.buf = best.buf[1:]
	best.running++
	p.buffered--
	p.busy++
	return best, d
}
