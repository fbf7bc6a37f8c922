// Package middleware holds the handler and publisher middleware of Red
// Ghost: [Recover], [Timeout], [CircuitBreaker], [Retry] and [Logging] for
// handlers, [SetHeaders] for publishers, and [Chain] and [ChainPublish] to
// compose them. Every handler middleware has one of two shapes,
//
//	func Name(required args, opts ...NameOption) core.Middleware
//	func Name(required args, opts ...NameOption) (core.Middleware, error)
//
// with options as WithName... functions, resolved once when the middleware
// is built. The second shape is for middleware whose settings can be wrong
// (Timeout, Retry, CircuitBreaker): a bad setting comes back there, at
// start-up, as an [*core.InvalidError] naming the option; nothing panics,
// and nothing is checked per message. This is the configuration rule of
// the whole library; see "Configuration" in package core.
//
// # Order
//
// [Chain] puts the first middleware outermost. The recommended order, from
// the outside in:
//
//	tracing (otel), metrics, Logging, Recover, Retry, CircuitBreaker, Timeout, handler
//
// and why:
//
//   - Tracing outermost, so the span covers the whole handling and every
//     other middleware (and the log lines) find the trace in the context.
//   - Metrics next, so they count the outcome the worker acknowledges: a
//     panic already turned into an error, an exhausted retry already turned
//     into an error, a rejection by the breaker as the retry it is.
//   - Logging sees the same final outcome and times the whole handling.
//   - Recover inside Logging and metrics, so a panic reaches them as an
//     ordinary error outcome; outside the rest, so a panic in any of them
//     is caught too. (Timeout recovers a panic in the handler itself, as
//     an error outcome.) Either way the panic is logged once with its
//     stack, by Recover or by the worker.
//   - Retry outside CircuitBreaker: it must see the breaker's rejections
//     (errors matching [ErrBreakerOpen]) to keep them from counting as
//     attempts. Outside Timeout, so that a timeout counts as an attempt and
//     gets the exponential backoff (with [WithTimeoutInline], except for a
//     handler abandoned for ignoring its context: the worker answers that
//     one with Timeout's own backoff, see [WithTimeoutInline]).
//   - CircuitBreaker outside Timeout, so that a timeout reaches it as a
//     failure (the retry's error matches [ErrTimeout]) and an open breaker
//     answers at once, without Timeout's work.
//   - Timeout innermost, so its deadline bounds the handler's own work only.
//
// Other orders lose something. With Retry inside CircuitBreaker, every
// handling the open breaker turns away counts as an attempt and an outage
// dead-letters messages that were never tried. With Timeout outside
// CircuitBreaker, the breaker never sees a timeout (the handler's late
// answer reaches it after Timeout has answered) and an open breaker still
// costs Timeout's work per message.
//
// In code (error checks elided after the first):
//
//	retry, err := middleware.Retry(middleware.WithRetryMaxAttempts(8))
//	if err != nil {
//		return err
//	}
//	breaker, err := middleware.CircuitBreaker(middleware.WithBreakerOpenTimeout(30 * time.Second))
//	timeout, err := middleware.Timeout(10 * time.Second)
//	h := middleware.Chain(
//		middleware.Logging(logger),
//		middleware.Recover(),
//		retry,
//		breaker,
//		timeout,
//	)(handler)
//	w, err := core.NewWorker(q, h)
//
// Build the chain once per worker. A CircuitBreaker value is one breaker
// and a Timeout value has one bound on abandoned handlers: share a value
// between workers only if they should share that state.
//
// # Outcomes, attempts and dead letters
//
// The backend keeps a copy of every error outcome in the queue's
// dead-letter list, with the error text: recovered panics (their text
// followed by the innermost frames of the stack), exhausted
// retries and any error a handler answers. A retry is never lost: the
// message is handled again after its backoff. Timeouts and breaker
// rejections are retries. The backend counts every handling in
// [core.Message.Attempt]; Retry subtracts the breaker's rejections (see
// [Retry] for the limits of that bookkeeping).
//
// So a message has two numbers, and each place names both or says which:
//
//   - The delivery count, [core.Message.Attempt] as the backend keeps it:
//     "attempt" in [Logging]'s lines, redghost.message.attempt on a span,
//     Deliveries in an [*ExhaustedError].
//   - The handler attempt, what Retry counts and bounds with
//     [WithRetryMaxAttempts]: the Message.Attempt handlers inside Retry see,
//     "handler_attempt" in [Logging]'s lines (when it differs from
//     "attempt"), redghost.message.handler_attempt
//     on a span, Attempts in an [*ExhaustedError], whose text reads "retries
//     exhausted after 4 attempts (8 deliveries, 4 rejected by the circuit
//     breaker)" when the two differ. Middleware outside Retry learn it
//     through an [AttemptReport].
//
// # Publisher middleware
//
// Publisher middleware wraps a [core.Sender], which sends a whole batch:
// [ChainPublish] orders it as Chain does (first outermost, sees the
// requests first), and so does [core.WithPublishMiddleware]. Tracing that
// injects its context into the headers goes outermost there too, so that
// middleware inside it see the headers it set.
package middleware
