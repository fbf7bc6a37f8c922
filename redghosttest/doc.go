// Package redghosttest helps test code that uses Red Ghost: handlers,
// the middleware chains around them, and code that publishes. It needs no
// Redis and never sleeps: an [Env] holds an in-memory backend on a manual
// clock that the helpers move themselves.
//
//   - [Env.Handle] runs one message through a handler wrapped in the
//     application's middleware ([WithMiddleware]) and answers its
//     [core.Result], a panic recovered as a worker recovers it.
//   - [Env.Publisher] makes a publisher that records what it enqueues;
//     [RequireEnqueued] checks one message (queue, id, payload decoded into
//     a type, headers, delay) and [Env.RequireNothingElseEnqueued] that
//     nothing else was.
//   - [Env.Drain] handles a queue's messages until none is left, moving the
//     clock through delays and retry backoffs, and answers every handling.
//
// The helpers fail the test through its testing.TB. The design follows
// River's rivertest (RequireInserted, RequireNotInserted, a test worker
// that answers the outcome of one job).
//
// [core.Result]: https://pkg.go.dev/github.com/redghost/redghost/core#Result
package redghosttest
