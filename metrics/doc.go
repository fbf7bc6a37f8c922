// Package metrics exports Prometheus metrics for Red Ghost publishers,
// workers, circuit breakers and queues, with github.com/prometheus/client_golang.
//
// [New] registers the metrics with a [prometheus.Registerer]. Its
// [Metrics.Middleware] goes on the worker's handler chain and
// [Metrics.PublishMiddleware] on the publisher; [Metrics.BreakerStateChanged]
// is the callback for the middleware package's WithBreakerOnStateChange; and a
// [QueueCollector] reads the queues' depth by status from the backend at
// scrape time, and a [WorkerCollector] the workers' own counters; register
// both with the same registry (Metrics.QueueCollector and
// Metrics.WorkerCollector label them as the rest). The package Example wires
// all of it together.
//
// # Metrics
//
// With the default namespace "redghost":
//
//	redghost_messages_handled_total{queue,outcome}      handlings by outcome: success, retry, error, rejected
//	redghost_handle_duration_seconds{queue,outcome}     time in the handler (histogram, exemplars)
//	redghost_queueing_duration_seconds{queue}           age of a message at its first handling (histogram, exemplars)
//	redghost_messages_in_flight{queue}                  handlers running now
//	redghost_retries_total{queue}                       retry outcomes (not rejections)
//	redghost_dead_letters_total{queue}                  error outcomes: each leaves a dead letter
//	redghost_enqueued_total{queue,result}               enqueues by result: added, updated, already_queued, locked, backoff, invalid, failed
//	redghost_circuit_breaker_state{name}                0 closed, 1 half-open, 2 open
//	redghost_circuit_breaker_transitions_total{name,from,to}
//	redghost_queue_messages{queue,status}               depth by status: queued, locked, backoff, done, dead (collector)
//	redghost_queue_oldest_message_age_seconds{queue}    how long the longest-waiting queued message has waited (collector)
//	redghost_queue_up{queue}                            1 if the last scrape read the queue, else 0 (collector)
//	redghost_worker_locks_lost_total{queue}             acks and lock extensions refused by the fence (worker collector)
//	redghost_worker_backend_errors_total{queue}         backend calls that failed and were retried (worker collector)
//	redghost_worker_idle_waits_total{queue}             dequeues that found nothing and waited (worker collector)
//	redghost_worker_running{queue}                      workers running: started and not stopped (worker collector)
//
// The outcome "rejected" is a handling that a circuit breaker answered
// without calling the handler (a retry whose error matches
// middleware.ErrBreakerOpen): it is counted neither as a retry nor in
// redghost_retries_total, so that the retry rate is the handler's own.
// Count the breaker's open periods with redghost_circuit_breaker_state.
//
// The oldest message's age is ready time: a message counts from its
// enqueue, or from when its delay, backoff or lock expired or it was
// retried without a backoff, never from its first enqueue across retries;
// see [core.QueueStats.OldestReady]. It is the number to alert on first:
// it grows when workers stop or fall behind, whatever the depth.
//
// # Alerts
//
// deploy/prometheus/alerts.yml in the repository holds Prometheus alerting
// rules over these metrics (oldest message too old, error ratio, breaker
// open, lock losses, collector down); load it with rule_files.
//
// # Bounded labels
//
// Label values never carry message ids or error text. Outcomes, enqueue
// results, breaker states and queue statuses come from the fixed sets above.
// Queue names come from the messages the process handles and publishes: a
// worker sees only its own queue, but a publisher may be handed any name, so
// the set is bounded two ways. [WithQueues] gives an allow-list: any other
// name is counted as "_other". Without one, the first [WithMaxQueues] names
// seen (default 100) are kept and later ones are counted as "_other". A name
// that is not a valid queue name is counted as "_invalid". Breaker names come
// from the program's own configuration.
//
// # Exemplars
//
// The duration histograms carry the trace id of the span in the handler's
// context as an exemplar (label trace_id), so a latency spike links to a
// trace. Put the tracing middleware before this one in the chain, so that
// its span is in the context, and serve the registry in the OpenMetrics
// format (promhttp.HandlerOpts{EnableOpenMetrics: true}); Prometheus keeps
// exemplars with --enable-feature=exemplar-storage.
//
// # Order in a middleware chain
//
// Put [Metrics.Middleware] after the tracing middleware and before the
// retry, timeout and circuit-breaker middleware, so that it counts the
// outcome the worker acknowledges (a retry the retry middleware turned into
// an error is a dead letter):
//
//	retry, err := middleware.Retry()
//	...
//	middleware.Chain(rgotel.Middleware(), m.Middleware(), middleware.Recover(), retry, ...)
package metrics
