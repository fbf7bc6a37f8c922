// Package web is a web UI for Red Ghost queues: an [http.Handler] that a
// Go service mounts in its own mux, and that `redghost serve` runs on its
// own.
//
// # Pages
//
//   - Queues: every queue with its counts by status (queued, locked,
//     backoff, done, dead), read again every few seconds, with the change
//     per second of the total and of the dead letters, the wait of the
//     oldest ready message ([core.QueueStats].OldestReady) and a marker on
//     paused queues; pause or resume each.
//   - A queue: whether it is paused (pause or resume it), and its messages
//     a page at a time (as [core.Inspector]'s QueueContent lists them),
//     filtered by status, with age, attempts, lock left, backoff left, a
//     marker on cancelled ones and their own limits where set
//     ([core.WithMaxAttempts], [core.WithHandlingTimeout]).
//   - A message: why it is where it is and what happens next, in the words
//     of [core.Explain] (the CLI's `redghost why` prints the same), its
//     attempts, age, limits, headers, payload (with [WithPayloads]) and a
//     link to its trace in Jaeger ([WithJaegerURL]) from its traceparent
//     header; cancel it (asked first).
//   - Dead letters: a queue's failed messages with their error texts;
//     requeue one, the selected or all, or purge them.
//   - Workers: the running workers as they register themselves
//     ([core.Inspector].Workers): host, pid, queues, concurrency, messages
//     in flight, start and last heartbeat.
//   - Schedules, when the backend is a [core.ScheduleStore]: the schedules
//     that running schedulers registered, with spec, queue, next and last
//     slot.
//
// Every page is rendered on the server with html/template, which escapes
// all that comes from the queues (names, ids, headers, payloads, error
// texts); a small script, embedded like the stylesheet, refreshes the
// counts. Nothing is loaded from elsewhere: the UI works offline, and its
// Content-Security-Policy allows only its own files.
//
// # Mounting
//
// The pages live in one directory and link to each other relatively, so
// the handler works under any prefix, behind [http.StripPrefix] or under a
// mux pattern ending in "/":
//
//	mux.Handle("/admin/queues/", http.StripPrefix("/admin/queues", ui))
//	mux.Handle("/ops/", ui) // the pages are /ops/, /ops/queue?name=..., ...
//
// # Security
//
// Authentication is the embedding server's job: the handler serves
// whoever reaches it. Wrap it in the service's own authentication
// middleware (see the package example), or keep it on a loopback or
// internal address.
//
// The UI only reads unless [WithActions] turns the actions on (pause and
// resume a queue, cancel a message, requeue and purge dead letters, clear
// a queue). Every action is a POST that must carry a CSRF token: a random
// cookie per browser, and in the form an HMAC of it under a key drawn at
// random when the handler is made. A POST without it, with a bad one, or
// with one from another process is refused with 403. Actions on a whole
// queue, and a cancel, ask for confirmation first; pause and resume,
// which undo each other, do not. Payloads are hidden unless
// [WithPayloads] shows them.
//
// # More pages
//
// A handler is made for a [core.Backend]. Capabilities beyond it (such as
// the schedules of a [core.ScheduleStore]) get their pages when the
// backend implements the interface that offers them, checked once in
// [New] by a type assertion: a backend without them shows the other pages.
package web
