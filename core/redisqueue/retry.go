package redisqueue

import (
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// go-redis retries a command after a network error (a dropped connection,
// a read timeout): MaxRetries times by default. When the first run of an
// enqueue script was applied and only its answer was lost, the retry runs
// it again and answers for the state the first run left: an id enqueued
// once comes back ErrAlreadyQueued or ErrLocked, an update comes back as
// applied twice. So each enqueue script call carries a request key,
// "<prefix>:{<queue>}:req:<backend>:<n>", unique per call: a run that
// applied something keeps its answer there for 60 seconds, and a run that
// finds it answers it again and changes nothing (lua/enqueue.lua). A run
// that applied nothing (every message refused) keeps nothing: run again,
// it applies at most once. A retry later than a minute (the client's
// timeouts and retries would have to add up to that) runs again as
// before.
//
// The key costs a GET per call, and a SET EX and about 100 bytes of Redis
// memory for a minute per call that applied something; not per message. A
// single plain message on Redis 7 (the common enqueue) reads and writes it
// in one SET NX GET instead, plus a SET or DEL only when it was not added.
// A client that never retries (redis.Options.MaxRetries -1) gets no key.
//
// What an enqueue answers, then:
//   - a result without an error: applied, once;
//   - a refusal (ErrAlreadyQueued, ErrLocked, ErrBackoff): this call did
//     not enqueue that message; the message as it stood when the call ran
//     kept it out;
//   - an error of the whole call or of a chunk's requests (the network,
//     a full Redis, a timeout): the messages may or may not have been
//     enqueued. Enqueue them again with the same ids, which is safe: one
//     that made it answers ErrAlreadyQueued (or, under CanUpdate, is
//     updated again with the same content).

// requestKeys names the enqueue calls of one Backend.
type requestKeys struct {
	on   bool   // the client retries
	base string // random, per Backend
	n    atomic.Uint64
}

func newRequestKeys(client redis.UniversalClient) *requestKeys {
	return &requestKeys{on: clientRetries(client), base: newEpoch()[:16]}
}

// clientRetries tells whether client may send a command twice. Only a
// plain client says it does not; a cluster client also retries on
// redirects and network errors whatever MaxRetries says.
func clientRetries(client redis.UniversalClient) bool {
	if c, ok := client.(*redis.Client); ok {
		return c.Options().MaxRetries > 0 // NewClient made -1 (none) 0, and 0 (default) 3
	}
	return true
}

// enqueueKeys are enqueue.lua's KEYS for one call to queue, with a fresh
// request key when the client retries. Without one they are shared: never
// written to.
func (b *Backend) enqueueKeys(queue string) []string {
	k := b.scriptKeys(queue)
	if !b.reqs.on {
		return k.enqueue
	}
	n := len(k.enqueue)
	return append(k.enqueue[:n:n], k.req+strconv.FormatUint(b.reqs.n.Add(1), 36)) // a copy
}
