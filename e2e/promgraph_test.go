package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// headless starts Debian's Chromium (CHROMIUM_BIN) headless, with a
// window of w×h, for the length of ctx, and answers its browsing context.
func headless(t *testing.T, ctx context.Context, chrome string, w, h int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	return bctx
}

// outcomesPanel is the dashboard panel whose query the Prometheus graph
// shows. graphRate stands for the panel's $__rate_interval: what Grafana
// makes of it with the 1 s scrape interval of the test (four scrapes).
const (
	outcomesPanel = "Handled by outcome"
	graphRate     = "4s"
)

// checkPrometheusGraph opens Prometheus' own graph page on the dashboard's
// handled-by-outcome query (Debian's Prometheus serves its classic UI, at
// /classic/graph) in a headless Chromium, over the time the demo ran,
// waits until the chart is drawn, and wants a line for each of the demo's
// outcomes in the legend. With RG_SCREENSHOTS=1 it saves
// docs/img/prometheus-outcomes.png.
func checkPrometheusGraph(t *testing.T, promURL string) {
	chrome := need(t, "CHROMIUM_BIN", "chromium")
	d, _ := loadDashboard(t)
	exprs := promQueries(t, d)[outcomesPanel]
	if len(exprs) != 1 {
		t.Fatalf("panel %q has queries %q, want one", outcomesPanel, exprs)
	}
	expr := strings.NewReplacer(`$queue`, `.*`, `$__rate_interval`, graphRate).Replace(exprs[0])
	span := dataSpan(t, promURL, expr)
	if _, err := get(context.Background(), promURL+"/classic/graph"); err != nil {
		t.Fatalf("this Prometheus serves no classic graph page (Debian's package does; upstream builds serve their React UI instead): %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const w, h = 1000, 600
	bctx := headless(t, ctx, chrome, w, h)
	page := promURL + "/classic/graph?" + url.Values{
		"g0.expr":        {expr},
		"g0.tab":         {"0"},
		"g0.range_input": {fmt.Sprintf("%ds", int(span.Seconds()))},
	}.Encode()
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(w, h), chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("graph_wrapper0"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	// The picture keeps the query, the time range, the chart and its
	// legend: the page's other controls are hidden and the chart is
	// shorter than its 400 px, then drawn again at that size.
	redraw := `(() => {
		const s = document.createElement("style");
		s.textContent = ".query-history, #add_graph, .graph_wrapper .form-inline, .graph_wrapper a[name=remove], .graph_wrapper .nav-tabs { display: none !important; }" +
			" .graph { min-height: 230px !important; height: 230px; }";
		document.head.appendChild(s);
		document.querySelector("#graph_wrapper0 .legend").replaceChildren();
		document.querySelector("#graph_wrapper0 .execute_btn").click();
		return true;
	})()`
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](redraw)); err != nil {
		t.Fatalf("shorten the chart: %v", err)
	}
	// Drawn: Rickshaw has put a line of more than one point per series in
	// the chart, and the series' names in the legend.
	legend, err := chromedp.Run(bctx, chromedp.Poll[[]string](`(() => {
		const lines = [...document.querySelectorAll("#graph_wrapper0 .graph svg path.path")].filter(p => (p.getAttribute("d") || "").includes("L"));
		const labels = [...document.querySelectorAll("#graph_wrapper0 .legend .label")].map(e => e.textContent);
		return lines.length > 0 && lines.length == labels.length ? labels : null;
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		errText, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("#graph_wrapper0 .error").textContent`))
		t.Fatalf("the chart of %s was not drawn: %v (page error: %q)", expr, err, errText)
	}
	t.Logf("legend of %s over %s: %q", expr, span, legend)
	for _, outcome := range []string{"success", "retry", "error", "rejected"} {
		if !slices.Contains(legend, `{outcome="`+outcome+`"}`) {
			t.Errorf("the legend has no line for outcome %q: %q", outcome, legend)
		}
	}
	// From the top of the page to the bottom of the legend.
	screenshotOf(t, bctx, "prometheus-outcomes.png", chromedp.Screenshot(chromedp.CSSAll("nav.navbar, #graph_wrapper0 .legend")))
}

// dataSpan is how far back from now expr has data in Prometheus, in whole
// seconds with a little room on the left, and at least 10 s.
func dataSpan(t *testing.T, promURL, expr string) time.Duration {
	t.Helper()
	now := time.Now()
	data, err := promGet(promURL, "/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)},
		"end":   {strconv.FormatInt(now.Unix(), 10)},
		"step":  {"1"},
	})
	if err != nil {
		t.Fatalf("query_range %s: %v", expr, err)
	}
	var matrix struct {
		Result []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &matrix); err != nil {
		t.Fatal(err)
	}
	first := now
	for _, s := range matrix.Result {
		if len(s.Values) > 0 {
			if ts, ok := s.Values[0][0].(float64); ok && ts < float64(first.Unix()) {
				first = time.Unix(int64(ts), 0)
			}
		}
	}
	if first.Equal(now) {
		t.Fatalf("no data for %s in the last 10 minutes", expr)
	}
	return max(10*time.Second, now.Sub(first).Truncate(time.Second)+3*time.Second)
}
