package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/redghost/redghost/e2e/grafana"
)

// TestComposeFile loads docker-compose.yml as docker compose would, with
// compose-go's schema validation, and checks what the stack needs: the
// services, every mounted file and the demo's build, and that the
// provisioning files name what the dashboard uses.
func TestComposeFile(t *testing.T) {
	root := repoRoot(t)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithOsEnv, cli.WithName("redghost"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	names := p.ServiceNames()
	slices.Sort(names)
	if want := []string{"demo", "grafana", "jaeger", "prometheus", "redis"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}

	for name, svc := range p.Services {
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("service %s mounts %s, which does not exist: %v", name, v.Source, err)
			}
			if !strings.HasPrefix(v.Source, root) {
				t.Errorf("service %s mounts %s, outside the repository", name, v.Source)
			}
		}
		if svc.Build != nil {
			df := svc.Build.Dockerfile
			if !filepath.IsAbs(df) {
				df = filepath.Join(svc.Build.Context, df)
			}
			if _, err := os.Stat(df); err != nil {
				t.Errorf("service %s builds with %s: %v", name, df, err)
			}
		}
	}

	demo := p.Services["demo"]
	for _, k := range []string{"REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "METRICS_ADDR"} {
		if v := demo.Environment[k]; v == nil || *v == "" {
			t.Errorf("demo has no %s", k)
		}
	}
	if v := demo.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"]; v != nil && !strings.Contains(*v, "jaeger:4318") {
		t.Errorf("demo exports to %s, not to jaeger's OTLP/HTTP port", *v)
	}
	if !slices.Contains(p.Services["prometheus"].Command, "--enable-feature=exemplar-storage") {
		t.Errorf("prometheus runs without exemplar storage: %v", p.Services["prometheus"].Command)
	}

	// Prometheus scrapes the demo's metrics port; Grafana's datasources have
	// the uids the dashboard uses, and exemplars link to Jaeger.
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.Contains(read("deploy/prometheus/prometheus.yml"), `"demo:2112"`) {
		t.Errorf("prometheus.yml does not scrape demo:2112")
	}
	ds := read("deploy/grafana/provisioning/datasources/datasources.yml")
	for _, want := range []string{"uid: " + grafana.PrometheusUID, "uid: " + grafana.JaegerUID,
		"exemplarTraceIdDestinations", "datasourceUid: " + grafana.JaegerUID, "name: trace_id"} {
		if !strings.Contains(ds, want) {
			t.Errorf("datasources.yml lacks %q", want)
		}
	}
	if !strings.Contains(read("deploy/grafana/provisioning/dashboards/dashboards.yml"), "path: /var/lib/grafana/dashboards") {
		t.Errorf("dashboards.yml does not provision /var/lib/grafana/dashboards")
	}
}
