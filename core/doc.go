// Package core is the queue core of Red Ghost: the message, the handler
// outcomes, the pluggable [Backend] interface, the [Publisher] that enqueues
// to any queue by name, the [Worker] that handles one queue and the [Pool]
// that handles many.
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
// # Queue control
//
// [Queue.Pause] and [Queue.Resume] stop and restart every worker of a
// queue, in every process, within one wait cycle; the pause is stored in
// the backend and shown by [QueueStats.Paused]. [Queue.Cancel] removes a
// waiting message or, for one a handler holds, cancels the handler's
// context at the next heartbeat of its worker or pool with cause
// [ErrCanceled]. A
// message may carry its own attempt bound and handling timeout
// ([WithMaxAttempts], [WithHandlingTimeout]), which the Retry and Timeout
// middleware honour over their defaults. Every running worker registers
// itself, refreshed by its heartbeat, and so does every running pool,
// once, with all its queues; [Inspector.Workers] lists them.
//
// # Handlers and middleware
//
// A [Handler] answers a [Result]; the zero Result is success. [Middleware]
// wraps handlers the way net/http middleware wraps http.Handlers; see the
// middleware package for recover, timeout, circuit breaking and retry.
//
// # Configuration
//
// One rule holds across the library. Options are WithX functions, checked
// once, when the value is built. A constructor whose configuration can be
// wrong returns (T, error): [NewWorker], redisqueue.New, memqueue.New and
// the Timeout, Retry and CircuitBreaker middleware. The error is an
// [*InvalidError] (errors.Is(err, [ErrInvalid])) whose Field names the
// option, such as "WithConcurrency", and whose Reason says what was wrong
// and what was given. Nothing panics on a value a user typed, and nothing
// is checked again per message. A constructor none of whose options can be
// wrong ([NewPublisher], the Recover and Logging middleware) returns its
// value alone.
//
// Where one package has options for several constructors, each option
// carries its constructor's name (middleware.WithRetryMaxAttempts,
// middleware.WithTimeoutGrace). In this package the worker's options are
// plain (WithConcurrency, [WithDefaultLockDuration]) and so are the
// enqueue options (WithID, [WithLockDuration], a message's own lock).
//
// # Lifecycle errors
//
// A [Worker] starts once: [Worker.Start] on a running worker returns
// [ErrStarted], and after [Worker.Stop] returns [ErrClosed]; so does a
// [Pool].
//
// # Many queues
//
// A service with many kinds of job need not run a worker per queue: a
// [Pool] registers a handler per queue, as an http.ServeMux does per path
// ([Pool.Handle]), and shares one budget of handlers among them, by weight
// ([WithPriority]) or in strict priority order ([WithStrictPriority]), with
// an optional cap per queue ([WithQueueConcurrency]). Queues can be added
// and removed while it runs. Idle, it waits on all its queues with one
// blocking call of a backend that is a [MultiWaiter] (both backends are):
// on Redis one connection and about two commands a second, as one idle
// worker.
package core
