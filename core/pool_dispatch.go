package core

// handleLoop is one of the pool's handler goroutines: it takes the next
// message by the pool's priorities and handles it, until the pool stops
// and nothing is left.
func (p *Pool) handleLoop() {
	p.mu.Lock()
	for {
		q, d := p.pickLocked()
		if d == nil {
			if p.noMore && p.buffered == 0 {
				p.mu.Unlock()
				return
			}
			p.work.Wait()
			continue
		}
		p.mu.Unlock()
		q.handle(q.hctx, d)
		p.mu.Lock()
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
}

// pickLocked takes the next buffered message to handle: weighted, from
// the queue whose turn (virtual time) comes first; strict, from the queue
// of highest priority, ties by turn. Queues at their cap are passed over.
func (p *Pool) pickLocked() (*poolQueue, *Delivery) {
	var best *poolQueue
	for _, q := range p.queues {
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
		if q.pass < best.pass || (q.pass == best.pass && q.seq < best.seq) {
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
