package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	promCfg := read("deploy/prometheus/prometheus.yml")
	if !strings.Contains(promCfg, `"demo:2112"`) {
		t.Errorf("prometheus.yml does not scrape demo:2112")
	}
	// And a program on the host, through the name extra_hosts maps.
	if !strings.Contains(promCfg, `"host.docker.internal:`) {
		t.Errorf("prometheus.yml does not scrape a target on host.docker.internal")
	}
	// It loads the alerting rules, mounted where rule_files finds them.
	if !regexp.MustCompile(`(?m)^rule_files:\n  - alerts\.yml$`).MatchString(promCfg) {
		t.Errorf("prometheus.yml does not load alerts.yml")
	}
	mounted := false
	for _, v := range p.Services["prometheus"].Volumes {
		mounted = mounted || (v.Source == filepath.Join(root, "deploy", "prometheus", "alerts.yml") && v.Target == "/etc/prometheus/alerts.yml")
	}
	if !mounted {
		t.Errorf("prometheus does not mount deploy/prometheus/alerts.yml next to its prometheus.yml")
	}
	if gw := p.Services["prometheus"].ExtraHosts["host.docker.internal"]; !slices.Contains(gw, "host-gateway") {
		t.Errorf("prometheus maps host.docker.internal to %v, want host-gateway", gw)
	}

	// Jaeger publishes its UI and both OTLP ports, so that programs on the
	// host can send traces.
	published := map[uint32]bool{}
	for _, port := range p.Services["jaeger"].Ports {
		if port.Published == fmt.Sprint(port.Target) {
			published[port.Target] = true
		}
	}
	for _, port := range []uint32{16686, 4317, 4318} {
		if !published[port] {
			t.Errorf("jaeger does not publish port %d on the same host port: %v", port, p.Services["jaeger"].Ports)
		}
	}

	// Every image is pinned: the services' and the Dockerfile's.
	for name, svc := range p.Services {
		if svc.Build != nil {
			continue
		}
		if !pinnedImage(svc.Image) {
			t.Errorf("service %s runs image %q, not pinned to a version", name, svc.Image)
		}
	}
	froms := 0
	for _, line := range strings.Split(read("examples/demo/Dockerfile"), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "FROM" {
			froms++
			if !pinnedImage(f[1]) {
				t.Errorf("examples/demo/Dockerfile: %q is not pinned to a version", line)
			}
		}
	}
	if froms == 0 {
		t.Errorf("examples/demo/Dockerfile has no FROM line")
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

// pinnedImage tells whether image names one version: a digest, or a tag
// with a full major.minor.patch version ("7.4.2-alpine", "v2.55.1"), not
// "latest", a floating "7.4-alpine" or a role such as "nonroot".
func pinnedImage(image string) bool {
	if _, digest, ok := strings.Cut(image, "@sha256:"); ok {
		return len(digest) == 64
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false // no tag: latest
	}
	return pinnedTag.MatchString(image[i+1:])
}

var pinnedTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-.][a-z0-9.]+)?$`)

func TestPinnedImage(t *testing.T) {
	for image, want := range map[string]bool{
		"redis:7.4.2-alpine":       true,
		"prom/prometheus:v2.55.1":  true,
		"golang:1.26.8-bookworm":   true,
		"localhost:5000/app:1.2.3": true,
		"gcr.io/distroless/static-debian12:nonroot@sha256:" + strings.Repeat("a", 64): true,
		"redis:7.4-alpine":   false,
		"redis":              false,
		"redis:latest":       false,
		"localhost:5000/app": false,
		"gcr.io/distroless/static-debian12:nonroot": false,
	} {
		if got := pinnedImage(image); got != want {
			t.Errorf("pinnedImage(%q) = %v, want %v", image, got, want)
		}
	}
}
