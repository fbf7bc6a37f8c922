// Package memqueue is the in-memory [core.Backend]: the embedded default for
// examples, tests and single-process use. It keeps the semantics of the
// Redis backend (SEMANTICS.md) and passes the same conformance suite,
// [github.com/redghost/redghost/core/queuetest].
//
// # Layout
//
// Each queue holds a map of message records, a FIFO list of ready ids and a
// heap of the records that wait for a time: a delay or retry backoff, a
// lock, or the backoff of a done message. Dequeue first does what the heap
// says is due (expired delays, backoffs and locks go to the back of the
// ready list; done messages are collected, or queued again from their
// pending requeue copy), then takes up to max ready messages and locks them
// with one fresh token. So finding an expired lock costs O(log n), not a lap
// of the queue as in the reference.
//
// A message's status is derived from its record and the clock, as in the
// reference: a locked message whose lock expired reports queued before any
// Dequeue moves it. An acknowledgement is fenced by the lock token and
// applies while nobody else took the message, even after its lock expired.
//
// Time comes from the [core.Clock] given with [WithClock], so tests can move
// it by hand with a [queuetest.ManualClock]. Payloads and header maps are
// copied in and out: callers may reuse their buffers.
//
// All state sits behind one mutex; nothing is persisted.
//
// [queuetest.ManualClock]: https://pkg.go.dev/github.com/redghost/redghost/core/queuetest#ManualClock
package memqueue
