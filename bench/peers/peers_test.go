package peers

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTinyRun runs every row once on both systems with a few thousand
// messages, to prove the harness works: every workload that handles
// messages must see each one, on both systems, and the table must have a
// value in both columns of every row.
func TestTinyRun(t *testing.T) {
	needRedis(t)
	var progress bytes.Buffer
	cfg := Quick()
	cfg.Messages = 3000
	cfg.Single = 500
	cfg.LatencyFor = 500 * time.Millisecond
	cfg.IdleFor = 500 * time.Millisecond
	cfg.Detail = true
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}

	handling := map[string]bool{"e2e-10": true, "e2e-10q": true, "e2e-100": true, "latency": true, "pubsub-50": true}
	seen := map[string]int{}
	for _, r := range rep.Records {
		seen[r.System]++
		if !handling[r.Workload] {
			continue
		}
		if r.Expected == 0 || r.Handled != r.Expected || r.Distinct != r.Expected {
			t.Errorf("%s on %s: handled %d (distinct %d) of %d messages", r.Workload, r.System, r.Handled, r.Distinct, r.Expected)
		}
	}
	if want := len(DefaultWorkloads()); seen["ours"] != want || seen["asynq"] != want {
		t.Errorf("runs per system = %v, want %d each", seen, want)
	}

	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("\n%s", table.String())
	for _, row := range rep.Rows {
		if row.oursN == 0 && !strings.HasPrefix(row.Label, "  ↳") {
			t.Errorf("row %q has no value for ours", row.Label)
		}
		if row.peerN == 0 && !strings.HasPrefix(row.Label, "  ↳") {
			t.Errorf("row %q has no value for asynq", row.Label)
		}
	}
}

func TestMedianAndFormat(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if s := perSec.format(1234567.4); s != "1,234,567 msgs/s" {
		t.Errorf("format = %q", s)
	}
	if s := millis.format(1.234); s != "1.23 ms" {
		t.Errorf("format = %q", s)
	}
}

// TestTinyChainRun runs every -chain row once with a few thousand
// messages: each configuration must handle every message, and every row
// must have a value for ours and none for asynq.
func TestTinyChainRun(t *testing.T) {
	needRedis(t)
	var progress bytes.Buffer
	cfg := Quick()
	cfg.Messages = 2000
	cfg.Chain = true
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	runs := map[string]int{}
	for _, r := range rep.Records {
		runs[r.Workload]++
		if r.Expected == 0 || r.Handled != r.Expected || r.Distinct != r.Expected {
			t.Errorf("%s on %s: handled %d (distinct %d) of %d messages", r.Workload, r.System, r.Handled, r.Distinct, r.Expected)
		}
		if r.Workload != "pubsub-50" && r.System != "ours" {
			t.Errorf("%s ran on %s", r.Workload, r.System)
		}
	}
	for _, name := range Chains {
		if runs["chain-"+name] != 1 {
			t.Errorf("chain-%s ran %d times, want once", name, runs["chain-"+name])
		}
	}
	if runs["chain-pubsub"] != 1 || runs["pubsub-50"] != 2 {
		t.Errorf("runs %v", runs)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	t.Logf("\n%s", table.String())
	for _, row := range rep.Rows {
		if row.oursN == 0 {
			t.Errorf("row %q has no value for ours", row.Label)
		}
	}
}

// needRedis skips t when redis-server is not on PATH, or fails it in CI.
func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("redis-server is not on PATH")
		}
		t.Fatal("redis-server is not on PATH and CI is set")
	}
}
