package memqueue

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Dump is a canonical text of everything the backend stores: every queue
// with its ready list, its messages (state, attempts, token, times, content,
// pending copy) and its dead letters. Two dumps of an unchanged backend are
// equal. It is for tests and debugging; its format may change.
func (b *Backend) Dump() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	fmt.Fprintf(&sb, "token %d\n", b.token)
	paused := make([]string, 0, len(b.paused))
	for name := range b.paused {
		paused = append(paused, name)
	}
	slices.Sort(paused)
	for _, name := range paused {
		fmt.Fprintf(&sb, "paused %q\n", name)
	}
	names := make([]string, 0, len(b.queues))
	for name := range b.queues {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		q := b.queues[name]
		fmt.Fprintf(&sb, "queue %q\n", name)
		sb.WriteString("  ready")
		for e := q.ready.Front(); e != nil; e = e.Next() {
			fmt.Fprintf(&sb, " %q", e.Value.(*record).id)
		}
		sb.WriteByte('\n')
		ids := make([]string, 0, len(q.msgs))
		for id := range q.msgs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			r := q.msgs[id]
			fmt.Fprintf(&sb, "  msg %q %s attempts=%d token=%d lock=%s backoff=%s due=%s enqueued=%s%s %s\n",
				id, stateNames[r.state], r.attempts, r.token, stamp(r.lockUntil), stamp(r.backoffUntil),
				stamp(r.dueAt), stamp(r.enqueuedAt), canceledMark(r.canceled), dumpContent(r.content))
			if r.requeue != nil {
				fmt.Fprintf(&sb, "    requeue %s\n", dumpContent(*r.requeue))
			}
		}
		for i := 0; i < q.dead.len(); i++ {
			e := q.dead.at(i)
			fmt.Fprintf(&sb, "  dead %q attempt=%d error=%q failed=%s %s\n", e.ID, e.Attempt, e.Error,
				stamp(e.FailedAt), dumpContent(content{payload: e.Payload, headers: e.Headers, lockDur: e.lockDur,
					maxAttempts: e.maxAttempts, timeout: e.timeout}))
		}
	}
	keys := make([]schedKey, 0, len(b.slots)+len(b.registry))
	for k := range b.slots {
		keys = append(keys, k)
	}
	for k := range b.registry {
		if _, ok := b.slots[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y schedKey) int {
		return cmp.Or(cmp.Compare(x.queue, y.queue), cmp.Compare(x.name, y.name))
	})
	for _, k := range keys {
		fmt.Fprintf(&sb, "schedule %q %q last=%s", k.queue, k.name, stamp(b.slots[k]))
		if r, ok := b.registry[k]; ok {
			fmt.Fprintf(&sb, " spec=%q next=%s expires=%s", r.spec, stamp(r.next), stamp(r.expires))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func canceledMark(c bool) string {
	if c {
		return " canceled"
	}
	return ""
}

// limitsMark is the dump of a content's own limits (nothing without).
func limitsMark(c content) string {
	if c.maxAttempts == 0 && c.timeout == 0 {
		return ""
	}
	return fmt.Sprintf(" max=%d timeout=%s", c.maxAttempts, c.timeout)
}

func dumpContent(c content) string {
	var sb strings.Builder
	if len(c.payload) <= 64 {
		fmt.Fprintf(&sb, "lockdur=%s%s payload=%q headers={", c.lockDur, limitsMark(c), c.payload)
	} else {
		fmt.Fprintf(&sb, "lockdur=%s%s payload=%d bytes sha256:%x headers={", c.lockDur, limitsMark(c), len(c.payload), sha256.Sum256(c.payload))
	}
	keys := make([]string, 0, len(c.headers))
	for k := range c.headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%q:%q", k, c.headers[k])
	}
	sb.WriteByte('}')
	return sb.String()
}

// checkInvariants reports the first broken internal invariant, for tests.
func (b *Backend) checkInvariants() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, q := range b.queues {
		if q.name != name {
			return fmt.Errorf("queue %q filed under %q", q.name, name)
		}
		if q.empty() {
			return fmt.Errorf("queue %q is empty but kept", name)
		}
		var counts [numStates]int64
		for id, r := range q.msgs {
			if r.id != id {
				return fmt.Errorf("queue %q: record %q filed under %q", name, r.id, id)
			}
			counts[r.state]++
			inReady, inHeap := r.elem != nil, r.heapIdx >= 0
			switch {
			case r.state == stNone:
				return fmt.Errorf("queue %q: record %q not placed", name, id)
			case r.state == stReady && (!inReady || inHeap):
				return fmt.Errorf("queue %q: ready record %q: in ready %v, in heap %v", name, id, inReady, inHeap)
			case r.state != stReady && (inReady || !inHeap):
				return fmt.Errorf("queue %q: %s record %q: in ready %v, in heap %v", name, stateNames[r.state], id, inReady, inHeap)
			case inHeap && (r.heapIdx >= len(q.due) || q.due[r.heapIdx] != r):
				return fmt.Errorf("queue %q: record %q has a wrong heap index", name, id)
			case !r.lockUntil.IsZero() && r.state != stLocked:
				return fmt.Errorf("queue %q: %s record %q has a lock", name, stateNames[r.state], id)
			case !r.backoffUntil.IsZero() && r.state != stBackoff && r.state != stDone:
				return fmt.Errorf("queue %q: %s record %q has a backoff", name, stateNames[r.state], id)
			case r.state == stLocked && !r.dueAt.Equal(r.lockUntil):
				return fmt.Errorf("queue %q: locked record %q due at %v, lock until %v", name, id, r.dueAt, r.lockUntil)
			case r.state == stBackoff && !r.dueAt.Equal(r.backoffUntil):
				return fmt.Errorf("queue %q: backoff record %q due at %v, backoff until %v", name, id, r.dueAt, r.backoffUntil)
			}
		}
		if counts != q.counts {
			return fmt.Errorf("queue %q: counts %v, records say %v", name, q.counts, counts)
		}
		if q.ready.Len()+len(q.due) != len(q.msgs) {
			return fmt.Errorf("queue %q: %d ready + %d due != %d records", name, q.ready.Len(), len(q.due), len(q.msgs))
		}
		for i := 1; i < len(q.due); i++ {
			if q.due.Less(i, (i-1)/2) {
				return fmt.Errorf("queue %q: heap order broken at %d", name, i)
			}
		}
		if q.dead.len() > max(b.deadLimit, 0) {
			return fmt.Errorf("queue %q: %d dead letters, limit %d", name, q.dead.len(), b.deadLimit)
		}
	}
	return nil
}
