// Package e2e holds the end-to-end tests of Red Ghost's observability: the
// demo service (examples/demo) runs against a real redis-server, exports its
// spans to a real Jaeger (built from github.com/jaegertracing/jaeger as a Go
// tool, in e2e/tools) and is scraped by a real Prometheus (Debian's
// prometheus package); the tests then read Jaeger's query API, run every
// query of the Grafana dashboard against Prometheus, and check the alerting
// rules of deploy/prometheus: with promtool (syntax and unit tests), and
// loaded into that Prometheus, where one fires when Redis stops. They also validate
// docker-compose.yml with compose-go and decode the dashboard strictly with
// the Grafana Foundation SDK. TestWebUI drives the web UI of `redghost
// serve` in a headless Chromium (Debian's chromium package, through
// chromedp) against a real redis-server; with RG_SCREENSHOTS=1 it saves the
// screenshots of docs/img/. TestStack also opens Prometheus' own graph of
// the dashboard's handled-by-outcome query in that Chromium and wants a
// line per outcome (docs/img/prometheus-outcomes.png with RG_SCREENSHOTS=1).
// Package topology (e2e/topology) runs the
// library on Redis Cluster, Sentinel, TLS and ACL. The fault suite, in
// e2e/chaos, kills, pauses and cuts off workers and Redis under load and
// counts every message.
//
// This is its own module, so that Jaeger, compose-go, the Grafana SDK and
// toxiproxy never enter the library's go.mod; Jaeger has a module of its own again
// (e2e/tools), because its dependencies are older than the library's.
//
// Every process runs on free loopback ports and is stopped when its test
// ends. Run everything with e2e/run.sh, which installs what is missing.
//
// Environment:
//
//	JAEGER_BIN      a jaeger binary (default: go tool -n jaeger in e2e/tools)
//	PROMETHEUS_BIN  a prometheus binary (default: prometheus on PATH)
//	PROMTOOL_BIN    a promtool binary (default: promtool on PATH)
//	CHROMIUM_BIN    a Chromium or Chrome binary (default: chromium on PATH)
//	RG_SCREENSHOTS  when 1, TestWebUI writes docs/img/web-queues.png and web-message.png,
//	                and TestStack docs/img/prometheus-outcomes.png
//	CI              when set, a missing program fails the tests instead of skipping them
package e2e
