// Package grafana builds the Red Ghost Grafana dashboard with the Grafana
// Foundation SDK. The JSON provisioned by deploy/grafana is generated from
// it by e2e/cmd/gendashboard, and the e2e tests check that the two agree,
// that the JSON decodes strictly, and that every query returns data from a
// real Prometheus scraping the demo.
package grafana

import (
	"encoding/json"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Datasource uids, as provisioned in deploy/grafana/provisioning/datasources.
const (
	PrometheusUID = "prometheus"
	JaegerUID     = "jaeger"
	DashboardUID  = "redghost-overview"
)

func ptr[T any](v T) *T { return &v }

var promRef = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr(PrometheusUID)}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(promRef).Expr(expr).LegendFormat(legend).Range()
}

// Queue selector used by every query: the $queue variable.
const q = `queue=~"$queue"`

func quantiles(metric string) []cog.Builder[variants.Dataquery] {
	var out []cog.Builder[variants.Dataquery]
	for _, p := range []struct{ q, name string }{{"0.5", "p50"}, {"0.95", "p95"}, {"0.99", "p99"}} {
		out = append(out, query(
			`histogram_quantile(`+p.q+`, sum by (le, queue) (rate(`+metric+`_bucket{`+q+`}[$__rate_interval])))`,
			p.name+" {{queue}}").Exemplar(true))
	}
	return out
}

func series(title, desc, unit string, w, h uint32, targets ...cog.Builder[variants.Dataquery]) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).Description(desc).Unit(unit).Span(w).Height(h).
		Datasource(promRef).Targets(targets).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		FillOpacity(10)
}

// Dashboard builds the dashboard.
func Dashboard() (dashboard.Dashboard, error) {
	queue := dashboard.NewQueryVariableBuilder("queue").
		Label("queue").
		Datasource(promRef).
		Query(dashboard.StringOrMap{String: ptr("label_values(redghost_messages_handled_total, queue)")}).
		Definition("label_values(redghost_messages_handled_total, queue)").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Multi(true).IncludeAll(true).AllValue(".*").
		Sort(dashboard.VariableSortAlphabeticalAsc)

	breakerStates := []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: ptr("closed"), Color: ptr("green")},
			"1": {Text: ptr("half-open"), Color: ptr("yellow")},
			"2": {Text: ptr("open"), Color: ptr("red")},
		},
	}}}

	d, err := dashboard.NewDashboardBuilder("Red Ghost").
		Uid(DashboardUID).
		Description("Message queues on Redis: throughput, latency, the oldest waiting message, depth, retries, breaker rejections, dead letters, circuit breakers and workers. Latency exemplars link to traces in Jaeger.").
		Tags([]string{"redghost", "queues"}).
		Refresh("10s").
		Time("now-15m", "now").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(queue).
		WithRow(dashboard.NewRowBuilder("Throughput")).
		WithPanel(series("Handled by outcome", "Handlings per second by outcome: success, retry, error, and rejected (by a circuit breaker, without calling the handler).", "reqps", 12, 8,
			query(`sum by (outcome) (rate(redghost_messages_handled_total{`+q+`}[$__rate_interval]))`, "{{outcome}}")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(series("Enqueued by result", "Enqueues per second by result: added, updated, refusals (already_queued, locked, backoff), invalid, failed.", "reqps", 12, 8,
			query(`sum by (result) (rate(redghost_enqueued_total{`+q+`}[$__rate_interval]))`, "{{result}}"))).
		WithPanel(stat.NewPanelBuilder().
			Title("Error ratio").Description("Share of the handler's outcomes that were errors (dead-lettered); circuit breaker rejections are left out, as in the RedGhostHighErrorRatio alert.").
			Unit("percentunit").Span(6).Height(6).Datasource(promRef).
			WithTarget(query(`sum(rate(redghost_messages_handled_total{`+q+`,outcome="error"}[$__rate_interval])) / sum(rate(redghost_messages_handled_total{`+q+`,outcome!="rejected"}[$__rate_interval]))`, "errors")).
			GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue)).
		WithPanel(series("In flight", "Handlers running now.", "short", 6, 6,
			query(`sum by (queue) (redghost_messages_in_flight{`+q+`})`, "{{queue}}"))).
		WithPanel(series("Retries", "Retry outcomes per second: the handler asked to be called again. Circuit breaker rejections are not retries (see Breaker rejections).", "reqps", 6, 6,
			query(`sum by (queue) (rate(redghost_retries_total{`+q+`}[$__rate_interval]))`, "{{queue}}"))).
		WithPanel(series("Breaker rejections", "Handlings a circuit breaker answered without calling the handler, per second (outcome=\"rejected\"): the message is retried after the breaker's backoff.", "reqps", 6, 6,
			query(`sum by (queue) (rate(redghost_messages_handled_total{`+q+`,outcome="rejected"}[$__rate_interval]))`, "{{queue}}"))).
		WithRow(dashboard.NewRowBuilder("Latency")).
		WithPanel(series("Handling latency", "Time in the handler: p50, p95, p99. Exemplars link to the trace of a handling.", "s", 12, 8,
			quantiles("redghost_handle_duration_seconds")...)).
		WithPanel(series("Queueing latency", "Age of a message at its first handling: p50, p95, p99.", "s", 12, 8,
			quantiles("redghost_queueing_duration_seconds")...)).
		WithRow(dashboard.NewRowBuilder("Queues")).
		WithPanel(series("Oldest waiting message", "How long each queue's longest-waiting queued message has been ready to handle (since enqueued, or since its delay, backoff or lock expired or it was retried), read from the backend at scrape time. It grows when workers stop or fall behind; the RedGhostOldestMessageTooOld alert watches it.", "s", 12, 8,
			query(`max by (queue) (redghost_queue_oldest_message_age_seconds{`+q+`})`, "{{queue}}"))).
		WithPanel(series("Queue depth by status", "Messages in the queues by status, read from the backend at scrape time.", "short", 12, 8,
			query(`sum by (status) (redghost_queue_messages{`+q+`,status!="dead"})`, "{{status}}")).
			Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))).
		WithPanel(series("Dead letters", "New dead letters per second, and the dead-letter lists' size.", "short", 24, 8,
			query(`sum by (queue) (rate(redghost_dead_letters_total{`+q+`}[$__rate_interval]))`, "new/s {{queue}}"),
			query(`sum by (queue) (redghost_queue_messages{`+q+`,status="dead"})`, "stored {{queue}}"))).
		WithPanel(statetimeline.NewPanelBuilder().
			Title("Circuit breakers").Description("State of each circuit breaker.").
			Span(24).Height(5).Datasource(promRef).
			WithTarget(query(`max by (name) (redghost_circuit_breaker_state)`, "{{name}}")).
			Mappings(breakerStates).
			ShowValue(common.VisibilityModeAuto)).
		WithRow(dashboard.NewRowBuilder("Workers")).
		WithPanel(stat.NewPanelBuilder().
			Title("Workers running").Description("Workers running (started and not stopped), by queue, over every process scraped. Zero: nothing takes the queue's messages.").
			Unit("short").Span(6).Height(6).Datasource(promRef).
			WithTarget(query(`sum by (queue) (redghost_worker_running{`+q+`})`, "{{queue}}")).
			GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue)).
		WithPanel(series("Lock losses", "Acknowledgements and lock extensions refused because the worker's lock was lost: each such message may have been handled twice.", "short", 9, 6,
			query(`sum by (queue) (increase(redghost_worker_locks_lost_total{`+q+`}[$__rate_interval]))`, "{{queue}}"))).
		WithPanel(series("Backend errors", "Backend calls (dequeue, wait, acknowledge, heartbeat) that failed and that the workers retried after a backoff, per second.", "reqps", 9, 6,
			query(`sum by (queue) (rate(redghost_worker_backend_errors_total{`+q+`}[$__rate_interval]))`, "{{queue}}"))).
		Build()
	if err != nil {
		return d, err
	}
	// Stable ids and query refIds, as Grafana would assign them on save.
	var id uint32
	for _, p := range d.Panels {
		id++
		switch {
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		case p.Panel != nil:
			p.Panel.Id = ptr(id)
			for i, t := range p.Panel.Targets {
				if pq, ok := t.(prometheus.Dataquery); ok {
					pq.RefId = ptr(string(rune('A' + i)))
					p.Panel.Targets[i] = pq
				}
			}
		}
	}
	return d, nil
}

// JSON is the dashboard as provisioned: indented, with a trailing newline.
func JSON() ([]byte, error) {
	d, err := Dashboard()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
