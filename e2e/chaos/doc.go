// Package chaos is Red Ghost's fault suite: it runs a producer and several
// workers as real processes (the test binary started again in a role, see
// roles_test.go) against private redis-server processes, injects faults
// (kill -9 and SIGSTOP of workers and of Redis, SIGTERM, Redis restarts
// with and without an append-only file, network latency, resets and cuts
// through an in-process toxiproxy, SCRIPT FLUSH, a poison message, a full
// Redis) and counts every message in and out.
//
// Each worker records every message it handled ("id attempt pid time", one
// write per line on an O_APPEND file, so a kill -9 loses no record); the
// producer records every id the backend accepted, and every id whose
// enqueue failed (it may or may not have applied). The check fails on any
// loss (an accepted id never handled) and on more duplicate handlings than
// messages in flight at the faults (locked by a handler, or being
// enqueued). Each scenario logs one line:
//
//	kill-workers:            sent=3000 handled=3000 lost=0 dup=0 inflight=72 maybe=0 faults=3 recovery=1.02s
//
// sent: ids the backend accepted; handled: distinct ids handled; lost:
// accepted and never handled; dup: handlings beyond the first; inflight:
// messages locked by a handler at the faults, plus enqueues that failed
// (maybe applied); recovery: the longest time from a fault until every
// message held at it had been handled by some worker (about the lock after
// a kill -9, a pause or a cut of a worker), or from the end of a fault
// until the workers handled messages again (Redis back). With appendfsync everysec, unsynced counts what Redis
// took in the two seconds before the crash, which it may forget.
//
// The short form runs by default (a few minutes on two cores, from
// e2e/run.sh). The long form runs 100k messages, repeated crashes, two
// Redis restarts and network flaps:
//
//	cd e2e && CHAOS_LONG=1 go test -run Chaos -v -timeout 60m ./chaos
package chaos
