package redisqueue

// queueKeys are the Redis keys of one queue, all under the hash tag
// "{<queue>}" so that they share one cluster slot. Queue names cannot hold
// braces (core.ValidateQueueName), so the tag is exactly the name.
type queueKeys struct {
	msgs, ready, delay, locks, done, requeue, wake, seq, dead, deadidx, lockgrp, due string
	// The queue's schedules: each one's last enqueued slot, and the
	// registry of those that run.
	slots, sched string
	paused       string // exists while the queue is paused
}

// Key suffixes.
const (
	sfxMsgs    = "msgs"
	sfxReady   = "ready"
	sfxDelay   = "delay"
	sfxLocks   = "locks"
	sfxDone    = "done"
	sfxRequeue = "requeue"
	sfxWake    = "wake"
	sfxSeq     = "seq"
	sfxLockGrp = "lockgrp"
	sfxDue     = "due"
	sfxDead    = "dead"
	sfxDeadIdx = "deadidx"
	sfxSched   = "sched"
	sfxSlots   = "slots"
	sfxPaused  = "paused"
)

// queuePrefix is the head of every key of queue: "<prefix>:{<queue>}:".
func (b *Backend) queuePrefix(queue string) string { return b.cfg.prefix + ":{" + queue + "}:" }

// keys builds every key of queue. A call that needs one key builds it
// alone (queuePrefix(queue) + its suffix); the per-message scripts' callers
// take theirs from scriptKeys.
func (b *Backend) keys(queue string) queueKeys {
	p := b.queuePrefix(queue)
	return queueKeys{
		msgs:    p + sfxMsgs,
		ready:   p + sfxReady,
		delay:   p + sfxDelay,
		locks:   p + sfxLocks,
		done:    p + sfxDone,
		requeue: p + sfxRequeue,
		wake:    p + sfxWake,
		seq:     p + sfxSeq,
		dead:    p + sfxDead,
		deadidx: p + sfxDeadIdx,
		lockgrp: p + sfxLockGrp,
		due:     p + sfxDue,
		slots:   p + sfxSlots,
		sched:   p + sfxSched,
		paused:  p + sfxPaused,
	}
}

// scriptKeys are the KEYS of the scripts that run for every enqueue,
// dequeue, ack and heartbeat on one queue, built once per queue so that
// those calls build no key strings. They are shared between goroutines:
// never written to.
type scriptKeys struct {
	dequeue, ack, extend []string
	enqueue              []string // without the request key
	req                  string   // the request keys' head (retry.go)
}

// scriptKeys answers the scriptKeys of queue, building them on first use.
// The backend keeps them for as long as it lives, as it keeps every
// queue's epoch marker (health.go): one entry per queue it has served.
func (b *Backend) scriptKeys(queue string) *scriptKeys {
	if v, ok := b.hot.Load(queue); ok {
		return v.(*scriptKeys)
	}
	p := b.queuePrefix(queue)
	k := &scriptKeys{
		dequeue: []string{p + sfxMsgs, p + sfxReady, p + sfxDelay, p + sfxLocks, p + sfxDone, p + sfxRequeue,
			p + sfxWake, p + sfxSeq, p + sfxLockGrp, p + sfxDue, p + sfxPaused},
		ack: []string{p + sfxMsgs, p + sfxReady, p + sfxDelay, p + sfxLocks, p + sfxDone, p + sfxWake,
			p + sfxDead, p + sfxDeadIdx, p + sfxLockGrp, p + sfxDue},
		extend:  []string{p + sfxMsgs, p + sfxLocks, p + sfxDue},
		enqueue: []string{p + sfxMsgs, p + sfxReady, p + sfxDelay, p + sfxRequeue, p + sfxWake, p + sfxDue},
		req:     p + "req:" + b.reqs.base + ":",
	}
	v, _ := b.hot.LoadOrStore(queue, k)
	return v.(*scriptKeys)
}

// all lists every key of the queue.
func (k queueKeys) all() []string {
	return []string{k.msgs, k.ready, k.delay, k.locks, k.done, k.requeue, k.wake, k.seq, k.dead, k.deadidx, k.lockgrp, k.due, k.slots, k.sched, k.paused}
}

// workerKeys are the worker registry's hash and expiry index, under one
// hash tag of their own.
func (b *Backend) workerKeys() []string {
	p := b.cfg.prefix + ":workers:{workers}:"
	return []string{p + "reg", p + "exp"}
}

// queueFromKey answers the queue name of key if key is the given suffix's
// key of a queue under prefix.
func queueFromKey(prefix, key, suffix string) (string, bool) {
	head, tail := prefix+":{", "}:"+suffix
	if len(key) < len(head)+len(tail) || key[:len(head)] != head || key[len(key)-len(tail):] != tail {
		return "", false
	}
	name := key[len(head) : len(key)-len(tail)]
	return name, name != ""
}
