// Package core is the queue core of Red Ghost: the message, the handler
// outcomes, the pluggable [Backend] interface, the [Publisher] that enqueues
// to any queue by name, and the [Worker] that handles one queue.
//
// # Semantics
//
// Every backend reproduces the semantics of Carmine's message queue: message
// ids with de-duplication, update and requeue, initial backoff (delay),
// per-message locks that expire so that a dead handler's message comes back,
// handler outcomes success / retry / error with backoff, garbage collection,
// and queue and message status. Beyond the reference: time comes from the
// backend (the Redis server's clock, never the worker's), locks are kept
// alive by a heartbeat while a handler runs, acknowledgements are fenced by
// a lock token, dequeue and acknowledgement are batched, and failed messages
// are kept in a bounded dead-letter list.
//
// # Backends
//
// [github.com/redghost/redghost/core/redisqueue] stores queues in Redis (one
// hash tag per queue, so it runs on Redis Cluster);
// [github.com/redghost/redghost/core/memqueue] keeps them in memory and is the
// embedded default for examples and tests. Both pass the conformance suite in
// [github.com/redghost/redghost/core/queuetest].
//
// # Handlers and middleware
//
// A [Handler] answers a [Result]; the zero Result is success. [Middleware]
// wraps handlers the way net/http middleware wraps http.Handlers; see the
// middleware package for recover, timeout, circuit breaking and retry.
package core
