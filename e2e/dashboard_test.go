package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/redghost/redghost/e2e/grafana"
)

var registerPlugins sync.Once

// loadDashboard decodes the provisioned dashboard strictly: unknown fields,
// missing required fields and wrong types are errors.
func loadDashboard(t testing.TB) (dashboard.Dashboard, []byte) {
	t.Helper()
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "dashboards", "redghost.json"))
	if err != nil {
		t.Fatal(err)
	}
	var strict dashboard.Dashboard
	if err := strictError(strict.UnmarshalJSONStrict(b)); err != nil {
		t.Fatalf("dashboard JSON does not decode strictly: %v", err)
	}
	// The strict decoder of v0.0.22 drops the panels it decoded without
	// error (see strictError); read the content with the ordinary decoder.
	var d dashboard.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON does not decode: %v", err)
	}
	return d, b
}

// strictError works around the SDK's strict decoders (v0.0.22), which
// answer an empty error list as a non-nil error (an empty cog.BuildErrors
// in the error interface). Real errors are reported all the same.
func strictError(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

// promQueries lists the dashboard's PromQL expressions by panel title.
func promQueries(t testing.TB, d dashboard.Dashboard) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range d.Panels {
		if p.Panel == nil {
			continue
		}
		title := ""
		if p.Panel.Title != nil {
			title = *p.Panel.Title
		}
		if len(p.Panel.Targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for _, q := range p.Panel.Targets {
			var pq prometheus.Dataquery
			switch v := q.(type) {
			case prometheus.Dataquery:
				pq = v
			case *prometheus.Dataquery:
				pq = *v
			default:
				t.Errorf("panel %q: query %T is not a Prometheus query", title, q)
				continue
			}
			if pq.Datasource == nil || pq.Datasource.Uid == nil || *pq.Datasource.Uid != grafana.PrometheusUID {
				t.Errorf("panel %q: query %q does not name the provisioned Prometheus datasource", title, pq.Expr)
			}
			out[title] = append(out[title], pq.Expr)
		}
	}
	return out
}

// The strict decoder does reject what Grafana's schema does not have, in a
// panel's options and in a query, so the test above is not vacuous.
func TestDashboardStrictDecoderRejectsUnknownFields(t *testing.T) {
	_, b := loadDashboard(t)
	for _, bad := range []struct{ from, to string }{
		{`"legend": {`, `"legend": {"noSuchField": 1, `},
		{`"legendFormat": "{{outcome}}"`, `"legendFormat": "{{outcome}}", "exprr": "up"`},
		{`"refresh": "10s"`, `"refresh": "10s", "refreshh": "1m"`},
	} {
		mutated := bytes.Replace(b, []byte(bad.from), []byte(bad.to), 1)
		if bytes.Equal(mutated, b) {
			t.Fatalf("%q not found in the dashboard", bad.from)
		}
		var d dashboard.Dashboard
		if err := strictError(d.UnmarshalJSONStrict(mutated)); err == nil {
			t.Errorf("strict decoding accepted %s", bad.to)
		}
	}
}

func TestDashboardDecodesStrictlyAndIsGenerated(t *testing.T) {
	d, b := loadDashboard(t)
	want, err := grafana.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("deploy/grafana/dashboards/redghost.json is not what e2e/grafana builds; run: cd e2e && go run ./cmd/gendashboard ../deploy/grafana/dashboards/redghost.json")
	}
	if d.Uid == nil || *d.Uid != grafana.DashboardUID {
		t.Errorf("uid %v", d.Uid)
	}
	qs := promQueries(t, d)
	for _, title := range []string{"Handled by outcome", "Handling latency", "Queueing latency", "Queue depth by status",
		"In flight", "Retries", "Breaker rejections", "Oldest waiting message", "Dead letters", "Circuit breakers",
		"Workers running", "Lock losses", "Backend errors"} {
		if len(qs[title]) == 0 {
			t.Errorf("no panel %q", title)
		}
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !strings.Contains(strings.Join(vars, ","), "queue") {
		t.Errorf("variables %v, want $queue", vars)
	}
	for _, title := range []string{"Handling latency", "Queueing latency"} {
		for _, q := range qs[title] {
			if !strings.Contains(q, "histogram_quantile") {
				t.Errorf("%s: %q is not a quantile", title, q)
			}
		}
	}
}

// checkDashboardQueries runs every query of the dashboard, with the $queue
// variable at "All" and a fixed rate interval, against a Prometheus that
// scrapes the demo, and wants data from each.
func checkDashboardQueries(t *testing.T, promURL string) {
	d, _ := loadDashboard(t)
	r := strings.NewReplacer(`$queue`, `.*`, `$__rate_interval`, `30s`)
	for title, exprs := range promQueries(t, d) {
		for _, expr := range exprs {
			expr := r.Replace(expr)
			t.Run(title, func(t *testing.T) {
				waitFor(t, "data for "+expr, 20*time.Second, nil, func() error { return nonEmpty(promURL, expr) })
			})
		}
	}
	// The $queue variable's values: label_values(metric, queue).
	for _, v := range d.Templating.List {
		if v.Query == nil || v.Query.String == nil {
			continue
		}
		q := *v.Query.String
		metric, label, ok := parseLabelValues(q)
		if !ok {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, q)
			continue
		}
		data, err := promGet(promURL, "/api/v1/label/"+label+"/values", url.Values{"match[]": {metric}})
		if err != nil || len(data) < 5 || !strings.Contains(string(data), `"orders"`) {
			t.Errorf("variable %s: %s answered %s, %v; want the demo's queues", v.Name, q, data, err)
		}
	}
}

func parseLabelValues(q string) (metric, label string, ok bool) {
	var inner string
	if _, err := fmt.Sscanf(strings.ReplaceAll(q, " ", ""), "label_values(%s", &inner); err != nil {
		return "", "", false
	}
	inner = strings.TrimSuffix(inner, ")")
	metric, label, ok = strings.Cut(inner, ",")
	return metric, label, ok
}
