// Package redisqueue is the Redis backend of Red Ghost: a [core.Backend]
// that keeps each queue in a handful of Redis keys and does every queue
// operation in one Lua script call, with the Redis server's clock.
//
// # Storage
//
// Every key of a queue shares one hash tag, "<prefix>:{<queue>}:<suffix>",
// so a queue lives on one slot and the backend runs on Redis Cluster;
// different queues spread over the cluster. Per queue:
//
//	msgs     hash   mid -> packed header (flags, attempts, lock token, lock
//	                expiry, backoff expiry, own lock duration, first
//	                enqueued; only the last when the rest are 0, as for a
//	                message that waits in a backlog) followed by the body
//	                (headers and payload)
//	ready    list   mids waiting for a handler, FIFO
//	delay    zset   mid -> backoff expiry (initial delay, retry backoff)
//	locks    zset   lock group (the token of a dequeued batch) -> a lower
//	                bound of its members' lock expiries
//	lockgrp  hash   token -> the group's mids; "#"token -> how many are
//	                still locked under it; "n" -> the queue's locked total
//	done     zset   mid -> when a done message is due for gc or requeue
//	due      string a lower bound of the earliest score in delay, locks
//	                and done: a dequeue looks into them only once it
//	                has passed
//	requeue  hash   mid -> pending requeue copy (lock duration and body)
//	wake     list   at most one token; [Backend.Wait] (and WaitDequeue)
//	                blocks on it. An enqueue pushes one, and so does an
//	                ack or enqueue that lowers the due bound for a retry,
//	                a pending copy or a delay: the waiter reads NextDue
//	seq      string lock token counter (one token per dequeued batch)
//	dead     hash   mid -> dead letter (attempts, failed-at, error, body)
//	deadidx  zset   mid -> failed-at, for order and the size bound
//	slots    hash   schedule name -> its last enqueued slot, ms
//	                (core.ScheduleStore; written with the slot's enqueue)
//	sched    hash   schedule name -> registration: expiry and next slot,
//	                ms, and the spec; the key expires with its
//	                longest-lived registration
//	paused   string exists while the queue is paused; the dequeue script
//	                checks it first, in the same call
//
// A message's own limits (core.WithMaxAttempts, core.WithHandlingTimeout)
// are stored at the start of its body, only when it has them (body.go);
// a message cancelled while locked has a flag in its header, which the
// heartbeat's script answers and the ack and dequeue scripts act on
// (lua/cancel.lua). The worker registry of a prefix is two keys of their
// own hash tag: "<prefix>:workers:{workers}:reg", a hash of worker id ->
// last seen, expiry and the worker's JSON, and "...:exp", the ids by
// expiry; a registration, refreshed at every heartbeat, drops a few
// expired ones on the way, and a listing drops them all.
//
// Status is derived from the header as SEMANTICS.md §2 says. The sorted
// sets find the next expired backoff, lock group or done hold directly, so
// a dequeue does bounded maintenance instead of a lap of the queue, and
// only when the due bound says that something may be due. Lock expiries
// are indexed per dequeued batch, not per message (lua/lib.lua): a
// dequeue adds one group, an ack decrements its count, and a group that
// comes due is checked against the headers, which stay exact.
//
// # Time and fencing
//
// Every script reads the time with TIME; the client's clock is never sent.
// Each dequeued batch gets a fresh lock token; acknowledgements and lock
// extensions carry it and change nothing (answering [core.ErrLockLost]) when
// another handling owns the message.
//
// # Batching
//
// Enqueue makes one script call per queue of the batch; Dequeue, Ack and
// ExtendLocks make one call each. Large batches are split into calls of at
// most 1000 messages. Concurrent Enqueue calls to one queue are coalesced:
// while one enqueue script of the queue is in flight, later calls wait and
// go out together in the next script call (see coalesce.go). A plain batch
// (distinct ids, no options, delay or own lock) that meets no existing id
// takes the enqueue script's fast path: one HSET and one RPUSH (one HSETNX
// for a single message).
//
// # Costs
//
// Redis's single thread is the limit, and in a script most of its time
// goes to Lua's string handling, not to the Redis commands. Measured with
// the ScriptCost benchmark (bench/) on a 2-core machine, Redis 7.0, warm:
// per message at 1000 per call, enqueue ~1.5 us, dequeue ~2.2 us, ack
// ~1.3 us; per call at 1 message, enqueue ~8 us, dequeue ~25 us, ack
// ~16 us; an idle dequeue ~7.5 us (three Redis calls).
//
// # Connections
//
// WaitDequeue (an idle worker) holds one client connection while its BLPOP
// blocks, at most a second at a time: go-redis takes it from its pipeline
// pool (PipelinePoolSize) and, when that is full, from the main pool. Give
// a client shared by many idle workers a PipelinePoolSize of at least their
// number, so that other calls never wait for a connection.
//
// # Waiting for due messages
//
// Redis times out a BLPOP on its cron tick (every 100 ms at the default hz
// 10), so a BLPOP of 20 ms may last 100 ms. Wait and WaitDequeue block on
// the server until 100 ms before their timeout and sleep the rest in the
// client; a worker waiting for a retry or delay that NextDue says is due
// soon takes it within a few milliseconds of its due time. An idle worker
// still sends two commands (one round trip) per second of max wait.
//
// # Topologies
//
// New takes any go-redis client: a *redis.Client, a failover client
// (redis.NewFailoverClient, for Sentinel) or a *redis.ClusterClient. The
// e2e/topology tests run each on real servers: the conformance suite on a
// cluster of three masters with a replica each and over TLS, and a master
// killed under a publisher and a worker, on a cluster and under Sentinel.
//
// On a cluster, go-redis re-reads the slot layout when a node answers
// MOVED, but a dead master answers nothing; the backend asks the client to
// re-read it when a node cannot be reached (or says CLUSTERDOWN), so that
// workers and publishers follow a failover as soon as the replica is
// promoted, not when the client's ClusterStateReloadInterval (a minute by
// default) has passed.
//
// Redis replicates asynchronously: an enqueue is confirmed once the
// primary applied it. Should the primary die before its replica received
// the write, the promoted replica never had the message: it is lost,
// although its publisher was told it was queued. Only messages confirmed
// within the replica's lag before the crash, and not handled yet, can be
// lost that way; a lost dequeue or acknowledgement only makes a message
// be delivered again. [WithReplicaAck] closes that window: an enqueue is
// confirmed only once enough replicas have it (Redis WAIT, in the same
// round trip), and fails with [ErrNotReplicated] otherwise, for example
// while a promoted primary has no replica of its own yet. Ask for as many
// replicas as each primary has, so that whichever is promoted holds every
// confirmed message.
//
// An ACL user limited to one queue can do everything the backend does on
// it: every call touches only that queue's keys, and Redis checks each
// command a script runs against the user's key patterns. For queue "q"
// under the default prefix:
//
//	ACL SETUSER q on >password resetkeys ~rg:{q}:* resetchannels -@all +@connection +@read +@write +@scripting +@blocking +@transaction +time -@dangerous
//
// (the scripts read the server's clock with TIME, which none of the
// categories holds). For its workers to be listed by [Backend.Workers],
// such a user also needs the registry's keys, ~rg:workers:*; without them
// the workers run as well, unlisted (each refusal is logged at debug
// level). A call on another queue fails with the server's
// NOPERM error, wrapped with the operation and the queue's name.
//
// # Redis settings
//
// Run Redis with maxmemory-policy noeviction and with persistence
// (appendonly yes) for queues that must not lose messages. The Backend
// checks both kinds of loss it cannot prevent (health.go): when a worker
// starts and every 5 seconds (WithHealthCheckInterval) it reads the
// policy from INFO memory and each queue's epoch marker. An allkeys-*
// policy is logged as a warning once, or refused with [ErrEvictionPolicy]
// under WithEvictionCheck(EvictionRefuse); a queue whose marker vanished
// (a restart without persistence, a flush) is logged as an error once per
// loss. [Backend.Health] answers both for metrics ([core.HealthChecker]).
//
// A full Redis (maxmemory reached, noeviction) refuses enqueues with an
// OOM error and applies none of them, but still runs dequeues, acks and
// heartbeats, so workers drain the queue and make room (Redis 7: script
// flags; see oom.go for Redis 6.2).
//
// # Failures
//
// An unreachable Redis makes calls fail with the client's error; nothing is
// retried here (the worker backs off and retries). Invalid input is
// answered with a [*core.InvalidError] before anything is sent.
//
// go-redis itself may send a script call again after a network error. An
// enqueue is safe to retry that way: the retried call answers what the
// applied one did (retry.go). So an enqueue result without an error was
// applied once; a refusal (ErrAlreadyQueued, ErrLocked, ErrBackoff) means
// this call did not enqueue the message; an error means the messages may
// or may not have been enqueued: enqueue them again with the same ids.
package redisqueue
