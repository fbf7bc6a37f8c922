package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/internal/redistest"
)

// How much the demo publishes in the end-to-end run: enough for every kind
// of message and several breaker trips, little enough for a short test,
// over about eight seconds, so that Prometheus' graph of the run has a
// shape.
const (
	demoMessages = 240
	demoRate     = 30
)

// stack is one run of the demo with everything it talks to.
type stack struct {
	demo           *proc
	metricsURL     string
	promURL        string
	jaegerQueryURL string
}

// TestStack runs the demo against real Redis, Jaeger and Prometheus, then
// checks the dashboard's queries, Prometheus' graph of one of them in a
// browser, and the alerting rules in Prometheus, and the traces in Jaeger.
func TestStack(t *testing.T) {
	promBin := need(t, "PROMETHEUS_BIN", "prometheus")
	jaeger := jaegerBin(t)
	demoBin := goBuild(t, repoRoot(t), "./examples/demo")
	redis := redistest.Start(t)

	s := startStack(t, stackConfig{
		redisAddr: redis.Addr(), jaegerBin: jaeger, promBin: promBin, demoBin: demoBin,
		service: "redghost-demo", protocol: "http/protobuf", messages: demoMessages,
	})
	t.Logf("demo metrics %s, prometheus %s, jaeger %s", s.metricsURL, s.promURL, s.jaegerQueryURL)

	// The demo publishes its messages, handles them, retries some, dead-letters some.
	waitFor(t, "the demo to publish and finish every message", 90*time.Second, s.demo, func() error {
		return drained(s.metricsURL, demoMessages)
	})

	t.Run("dashboard queries", func(t *testing.T) { checkDashboardQueries(t, s.promURL) })
	t.Run("prometheus graph", func(t *testing.T) { checkPrometheusGraph(t, s.promURL) })
	t.Run("breaker tripped", func(t *testing.T) {
		// The pretend SMTP server went down during the run: the breaker opened.
		waitFor(t, "a breaker transition to open", 20*time.Second, nil, func() error {
			return nonEmpty(s.promURL, `sum(redghost_circuit_breaker_transitions_total{name="smtp",to="open"}) > 0`)
		})
	})
	t.Run("alerts", func(t *testing.T) { checkAlerts(t, s.promURL, redis) })
	var exemplarTraceIDs []string
	t.Run("exemplars", func(t *testing.T) { exemplarTraceIDs = checkExemplars(t, s.promURL) })

	// A graceful stop flushes the last spans.
	if err := s.demo.stop(30 * time.Second); err != nil {
		t.Fatalf("demo did not stop cleanly: %v\n%s", err, tail(s.demo.out.String(), 4000))
	}
	t.Run("traces", func(t *testing.T) { checkTraces(t, s.jaegerQueryURL, "redghost-demo", demoMessages, false) })
	t.Run("exemplar traces", func(t *testing.T) {
		// The exemplars Prometheus kept point at traces Jaeger has.
		for _, id := range exemplarTraceIDs[:min(5, len(exemplarTraceIDs))] {
			if _, err := get(context.Background(), s.jaegerQueryURL+"/api/traces/"+id); err != nil {
				t.Errorf("exemplar trace %s not in jaeger: %v", id, err)
			}
		}
	})
}

// TestChildSpansOverGRPC runs the demo with process spans as children of
// their send spans, exporting over OTLP/gRPC, and checks the parentage in
// Jaeger.
func TestChildSpansOverGRPC(t *testing.T) {
	jaeger := jaegerBin(t)
	demoBin := goBuild(t, repoRoot(t), "./examples/demo")
	redis := redistest.Start(t)
	const n = 60
	s := startStack(t, stackConfig{
		redisAddr: redis.Addr(), jaegerBin: jaeger, demoBin: demoBin,
		service: "redghost-demo-grpc", protocol: "grpc", child: true, messages: n,
	})
	waitFor(t, "the demo to publish and finish every message", 60*time.Second, s.demo, func() error {
		return drained(s.metricsURL, n)
	})
	if err := s.demo.stop(30 * time.Second); err != nil {
		t.Fatalf("demo did not stop cleanly: %v", err)
	}
	checkTraces(t, s.jaegerQueryURL, "redghost-demo-grpc", n, true)
}

type stackConfig struct {
	redisAddr, jaegerBin, promBin, demoBin string
	service, protocol                      string
	child                                  bool
	messages                               int
}

// startStack starts Jaeger, the demo and, if cfg.promBin is set, Prometheus.
func startStack(t *testing.T, cfg stackConfig) *stack {
	t.Helper()
	dir := t.TempDir()
	otlpHTTP, otlpGRPC, queryHTTP, queryGRPC := freePort(t), freePort(t), freePort(t), freePort(t)
	jcfg := filepath.Join(dir, "jaeger.yaml")
	writeFile(t, jcfg, fmt.Sprintf(jaegerConfig, queryHTTP, queryGRPC, otlpHTTP, otlpGRPC))
	j := start(t, "jaeger", cfg.jaegerBin, nil, "--config", jcfg)
	s := &stack{jaegerQueryURL: fmt.Sprintf("http://127.0.0.1:%d", queryHTTP)}
	waitFor(t, "jaeger's query API", 60*time.Second, j, func() error {
		_, err := get(context.Background(), s.jaegerQueryURL+"/api/services")
		return err
	})

	metricsPort := freePort(t)
	s.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	otlpPort := otlpHTTP
	if cfg.protocol == "grpc" {
		otlpPort = otlpGRPC
	}
	// Prometheus scrapes the demo from its first message on, so that its
	// graphs show the whole run.
	var p *proc
	if cfg.promBin != "" {
		promPort := freePort(t)
		s.promURL = fmt.Sprintf("http://127.0.0.1:%d", promPort)
		pcfg := filepath.Join(dir, "prometheus.yml")
		shipped, fast := fastRules(t, dir)
		writeFile(t, pcfg, fmt.Sprintf(prometheusConfig, shipped, fast, metricsPort))
		p = start(t, "prometheus", cfg.promBin, nil,
			"--config.file="+pcfg,
			"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort),
			"--enable-feature=exemplar-storage",
		)
		// Prometheus takes up new targets a few seconds after it starts:
		// the demo starts once its target has been scraped (and found
		// down).
		waitFor(t, "prometheus to scrape the demo's address", 60*time.Second, p, func() error {
			return nonEmpty(s.promURL, `up{job="redghost-demo"}`)
		})
	}
	s.demo = start(t, "demo", cfg.demoBin, []string{
		"REDIS_URL=redis://" + cfg.redisAddr + "/0",
		"REDIS_PREFIX=e2e",
		fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", metricsPort),
		fmt.Sprintf("DEMO_RATE=%d", demoRate),
		fmt.Sprintf("DEMO_MAX_MESSAGES=%d", cfg.messages),
		fmt.Sprintf("DEMO_TRACE_CHILD=%t", cfg.child),
		"DEMO_OUTAGE_EVERY=2s", "DEMO_OUTAGE_FOR=700ms", "DEMO_BREAKER_OPEN=300ms",
		"OTEL_SERVICE_NAME=" + cfg.service,
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", otlpPort),
		"OTEL_EXPORTER_OTLP_PROTOCOL=" + cfg.protocol,
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"OTEL_TRACES_SAMPLER=always_on",
	})
	waitFor(t, "the demo's /metrics", 30*time.Second, s.demo, func() error {
		_, err := get(context.Background(), s.metricsURL)
		return err
	})

	if p == nil {
		return s
	}
	waitFor(t, "prometheus to scrape the demo", 60*time.Second, p, func() error {
		return nonEmpty(s.promURL, `up{job="redghost-demo"} == 1`)
	})
	return s
}

// jaegerConfig runs Jaeger v2 with in-memory storage, an OTLP receiver and
// the query API on the given loopback ports, and no telemetry port of its own.
const jaegerConfig = `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// prometheusConfig scrapes the demo every second, in the OpenMetrics format
// (exemplars need it), and evaluates the shipped alerting rules and their
// fast copy (see fastRules) every second.
const prometheusConfig = `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
  - %q
scrape_configs:
  - job_name: redghost-demo
    static_configs:
      - targets: ["127.0.0.1:%d"]
`

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scrape reads the demo's metrics as name{labels} -> value.
func scrape(metricsURL string) (map[string]float64, error) {
	b, err := get(context.Background(), metricsURL)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// sum adds the values of the series of one metric whose labels hold every
// one of the given label pairs.
func sum(m map[string]float64, name string, labels ...string) float64 {
	var total float64
	for k, v := range m {
		if !strings.HasPrefix(k, name+"{") && k != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(k, l)
		}
		if ok {
			total += v
		}
	}
	return total
}

// drained reports nil once the demo has published all its messages and
// none is queued, locked or waiting for a backoff any more.
func drained(metricsURL string, messages int) error {
	m, err := scrape(metricsURL)
	if err != nil {
		return err
	}
	published := sum(m, "redghost_enqueued_total")
	pending := sum(m, "redghost_queue_messages", `status="queued"`) +
		sum(m, "redghost_queue_messages", `status="locked"`) +
		sum(m, "redghost_queue_messages", `status="backoff"`) +
		sum(m, "redghost_messages_in_flight")
	if published < float64(messages) || pending > 0 {
		return fmt.Errorf("published %v of %d, %v pending", published, messages, pending)
	}
	return nil
}

type promResponse struct {
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Data   json.RawMessage `json:"data"`
}

func promGet(promURL, path string, params url.Values) (json.RawMessage, error) {
	b, err := get(context.Background(), promURL+path+"?"+params.Encode())
	if err != nil {
		return nil, err
	}
	var r promResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.Status, r.Error)
	}
	return r.Data, nil
}

// nonEmpty runs an instant query and reports an error unless it answers at
// least one series.
func nonEmpty(promURL, expr string) error {
	data, err := promGet(promURL, "/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return err
	}
	var v struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if len(v.Result) == 0 {
		return fmt.Errorf("no series for %s", expr)
	}
	return nil
}

// checkExemplars wants exemplars with a trace id on both duration
// histograms, and answers the trace ids.
func checkExemplars(t *testing.T, promURL string) (traceIDs []string) {
	now := time.Now()
	for _, metric := range []string{"redghost_handle_duration_seconds_bucket", "redghost_queueing_duration_seconds_bucket"} {
		var ids []string
		waitFor(t, "exemplars of "+metric, 20*time.Second, nil, func() error {
			data, err := promGet(promURL, "/api/v1/query_exemplars", url.Values{
				"query": {metric},
				"start": {strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)},
				"end":   {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)},
			})
			if err != nil {
				return err
			}
			var series []struct {
				Exemplars []struct {
					Labels map[string]string `json:"labels"`
				} `json:"exemplars"`
			}
			if err := json.Unmarshal(data, &series); err != nil {
				return err
			}
			ids = ids[:0]
			for _, s := range series {
				for _, e := range s.Exemplars {
					if id := e.Labels["trace_id"]; len(id) == 32 {
						ids = append(ids, id)
					}
				}
			}
			if len(ids) == 0 {
				return fmt.Errorf("no exemplar with a trace_id")
			}
			return nil
		})
		traceIDs = append(traceIDs, ids...)
	}
	return traceIDs
}

// jaegerSpan is a span as Jaeger's query API (/api/traces) answers it.
type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags      []jaegerTag `json:"tags"`
	Logs      []jaegerLog `json:"logs"` // the span's events
	ProcessID string      `json:"processID"`
	process   []jaegerTag // the resource, from the trace's processes
}

type jaegerTag struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

type jaegerLog struct {
	Fields []jaegerTag `json:"fields"`
}

func tagOf(tags []jaegerTag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

func (s *jaegerSpan) tag(key string) string { return tagOf(s.Tags, key) }

// event answers the fields of the span's first event named name (Jaeger
// keeps an event's name in its "event" field).
func (s *jaegerSpan) event(name string) ([]jaegerTag, bool) {
	for _, l := range s.Logs {
		if tagOf(l.Fields, "event") == name {
			return l.Fields, true
		}
	}
	return nil, false
}

func jaegerTraces(t *testing.T, queryURL string, params url.Values) []jaegerSpan {
	t.Helper()
	b, err := get(context.Background(), queryURL+"/api/traces?"+params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Data []struct {
			Spans     []jaegerSpan `json:"spans"`
			Processes map[string]struct {
				Tags []jaegerTag `json:"tags"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var spans []jaegerSpan
	for _, tr := range r.Data {
		for _, sp := range tr.Spans {
			sp.process = tr.Processes[sp.ProcessID].Tags
			spans = append(spans, sp)
		}
	}
	return spans
}

// checkTraces reads every span of the service from Jaeger and checks that
// each of the messages has a send span, that every process span references
// it (a link, or its parent when child is set), and that each message's
// attempts and outcomes are what its kind makes them.
func checkTraces(t *testing.T, queryURL, service string, messages int, child bool) {
	t.Helper()
	params := url.Values{
		"service":  {service},
		"limit":    {"100000"},
		"lookback": {"1h"},
	}
	var spans []jaegerSpan
	var sends map[string]jaegerSpan
	waitFor(t, "jaeger to hold every send span", 20*time.Second, nil, func() error {
		spans = jaegerTraces(t, queryURL, params)
		sends = map[string]jaegerSpan{}
		for _, s := range spans {
			if strings.HasPrefix(s.OperationName, "send ") {
				sends[s.SpanID] = s
			}
		}
		if len(sends) < messages {
			return fmt.Errorf("%d send spans of %d messages", len(sends), messages)
		}
		return nil
	})

	sendOf := map[string]jaegerSpan{} // message id -> send span
	for _, s := range sends {
		if s.tag("messaging.system") != "redis" || s.tag("messaging.operation.type") != "send" {
			t.Errorf("send span %s: tags %v", s.SpanID, s.Tags)
		}
		// The backend names its server; the resource its instance and host.
		if s.tag("server.address") == "" || s.tag("server.port") == "" {
			t.Errorf("send span %s without server.address and server.port: %v", s.SpanID, s.Tags)
		}
		for _, k := range []string{"service.instance.id", "host.name", "process.pid"} {
			if tagOf(s.process, k) == "" {
				t.Errorf("send span %s: resource without %s: %v", s.SpanID, k, s.process)
			}
		}
		sendOf[s.tag("messaging.message.id")] = s
	}
	if len(sendOf) != messages {
		t.Errorf("%d distinct message ids in send spans, want %d", len(sendOf), messages)
	}

	// Every process span links to the send span of its message.
	attempts := map[string][]jaegerSpan{} // message id -> process spans
	for _, p := range spans {
		if !strings.HasPrefix(p.OperationName, "process ") {
			continue
		}
		id := p.tag("messaging.message.id")
		attempts[id] = append(attempts[id], p)
		send, ok := sendOf[id]
		if !ok {
			t.Errorf("process span %s of message %q: no send span", p.SpanID, id)
			continue
		}
		if p.OperationName != "process "+strings.TrimPrefix(send.OperationName, "send ") {
			t.Errorf("process span %q for send span %q", p.OperationName, send.OperationName)
		}
		// Jaeger shows an OTel parent as a CHILD_OF reference and a link as
		// FOLLOWS_FROM.
		want := "FOLLOWS_FROM"
		if child {
			want = "CHILD_OF"
		}
		linked := false
		for _, r := range p.References {
			linked = linked || (r.SpanID == send.SpanID && r.TraceID == send.TraceID && r.RefType == want)
		}
		if !linked {
			t.Errorf("process span %s of message %q has no %s reference to its send span %s: %+v", p.SpanID, id, want, send.SpanID, p.References)
		}
		if sameTrace := p.TraceID == send.TraceID; sameTrace != child {
			t.Errorf("process span %s in the send span's trace: %v, want %v", p.SpanID, sameTrace, child)
		}
	}

	// Every message was handled to the end, with its attempts in order.
	var kinds = map[string]int{}
	allRejections := 0
	for id := range sendOf {
		ps := attempts[id]
		if len(ps) == 0 {
			t.Errorf("message %q has a send span but no process span", id)
			continue
		}
		slices.SortFunc(ps, func(a, b jaegerSpan) int {
			x, _ := strconv.Atoi(a.tag("redghost.message.attempt"))
			y, _ := strconv.Atoi(b.tag("redghost.message.attempt"))
			return x - y
		})
		var outcomes []string
		rejections := 0
		for i, p := range ps {
			if got := p.tag("redghost.message.attempt"); got != strconv.Itoa(i+1) {
				t.Errorf("message %q: attempt %d tagged %q", id, i+1, got)
			}
			// Retry's count: deliveries minus the rejections before.
			if got, want := p.tag("redghost.message.handler_attempt"), strconv.Itoa(i+1-rejections); got != want {
				t.Errorf("message %q: delivery %d has handler attempt %q, want %s", id, i+1, got, want)
			}
			o := p.tag("redghost.outcome")
			if o == "rejected" {
				rejections++
				allRejections++
				if _, ok := p.event("rejected"); !ok || p.tag("otel.status_code") == "ERROR" {
					t.Errorf("message %q: rejection without its event or marked as an error: %v", id, p.Tags)
				}
				continue // not an outcome of the handler
			}
			outcomes = append(outcomes, o)
		}
		last := ps[len(ps)-1]
		kind, _, _ := strings.Cut(id, "-")
		kinds[kind]++
		switch kind {
		case "ok", "slow":
			if strings.HasPrefix(id, "ok-") && last.OperationName == "process emails" {
				// emails may be retried and even dead-lettered while the pretend SMTP server is down
				if o := outcomes[len(outcomes)-1]; o != "success" && o != "error" {
					t.Errorf("email %q ended with %v", id, outcomes)
				}
				continue
			}
			if !slices.Equal(outcomes, []string{"success"}) {
				t.Errorf("message %q: outcomes %v, want [success]", id, outcomes)
			}
		case "flaky":
			if !slices.Equal(outcomes, []string{"retry", "retry", "success"}) {
				t.Errorf("message %q: outcomes %v, want [retry retry success]", id, outcomes)
			}
			if ps[0].tag("error.type") == "" || ps[0].tag("otel.status_code") != "ERROR" {
				t.Errorf("message %q: failed attempt not marked as an error: %v", id, ps[0].Tags)
			}
		case "bad", "panic":
			if !slices.Equal(outcomes, []string{"error"}) {
				t.Errorf("message %q: outcomes %v, want [error]", id, outcomes)
			}
			want := map[string]string{"bad": "*errors.errorString", "panic": "panic"}[kind]
			if last.tag("otel.status_code") != "ERROR" || last.tag("error.type") != want {
				t.Errorf("message %q: status %q error.type %q, want ERROR and %q", id, last.tag("otel.status_code"), last.tag("error.type"), want)
			}
			if kind == "panic" {
				if ev, ok := last.event("exception"); !ok || !strings.Contains(tagOf(ev, "exception.stacktrace"), "goroutine ") {
					t.Errorf("message %q: no exception event with the panic's stack: %v", id, last.Logs)
				}
			}
		case "hopeless":
			if !slices.Equal(outcomes, []string{"retry", "retry", "retry", "error"}) {
				t.Errorf("message %q: outcomes %v, want 3 retries and an error", id, outcomes)
			}
			if last.tag("error.type") != "retries_exhausted" {
				t.Errorf("message %q: error.type %q, want retries_exhausted", id, last.tag("error.type"))
			}
		default:
			t.Errorf("message %q of unknown kind", id)
		}
	}
	// The publisher's Redis calls show up under the demo's publish spans
	// (go-redis's redisotel, given only contexts that carry a span).
	redisSpans := 0
	for _, s := range spans {
		if s.tag("db.system") == "redis" && len(s.References) > 0 {
			redisSpans++
		}
	}
	if redisSpans == 0 {
		t.Errorf("no Redis command span under a publish span")
	}
	t.Logf("messages by kind: %v; %d spans, %d of Redis commands, %d breaker rejections", kinds, len(spans), redisSpans, allRejections)
	if kinds["flaky"] == 0 || kinds["bad"] == 0 {
		t.Errorf("the run had no retried or no dead-lettered message: %v", kinds)
	}

}
