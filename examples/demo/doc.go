// Command demo runs a steady Red Ghost workload on Redis with tracing and
// metrics, for the docker-compose stack at the repository root and the
// end-to-end tests in e2e/.
//
// It publishes a mix of messages to two queues, "orders" and "emails", and
// handles them: most succeed; some ask for retries and succeed on a later
// attempt; some fail and are dead-lettered; a few panic; some retry until
// their attempts run out. The "emails" handler calls a pretend SMTP server
// that is down for a while now and then, behind a circuit breaker named
// "smtp", so the breaker opens and closes.
//
// Configuration, by flag or environment variable (the flag wins):
//
//	-redis-url      REDIS_URL        redis://127.0.0.1:6379/0
//	-prefix         REDIS_PREFIX     key prefix in Redis ("rg", redghost's default)
//	-metrics-addr   METRICS_ADDR     where /metrics is served (":2112")
//	-rate           DEMO_RATE        messages published per second (20)
//	-max-messages   DEMO_MAX_MESSAGES stop publishing after this many (0: never)
//	-outage-every   DEMO_OUTAGE_EVERY how often the pretend SMTP server goes down (60s)
//	-outage-for     DEMO_OUTAGE_FOR   for how long (10s)
//	-breaker-open   DEMO_BREAKER_OPEN the breaker's open timeout (5s)
//	-trace-child    DEMO_TRACE_CHILD  process spans as children of send spans, not links (false)
//
// Tracing is set up by the OTEL_* environment variables (see
// otel/otelsetup's Setup): OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_SERVICE_NAME (default "redghost-demo").
//
// It runs until SIGINT or SIGTERM, then stops publishing, lets the workers
// finish their in-flight messages, flushes the spans and exits.
//
// Each published message's payload says what its handler will do, and the
// message is published with the id "<kind>-<n>", so that a trace view and a
// dead-letter listing tell at a glance what they show.
package main
