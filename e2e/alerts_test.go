package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/internal/redistest"
)

// TestAlertRules checks the shipped alerting rules with promtool: the
// Prometheus configuration of docker-compose.yml and the rules it loads,
// and the rules' unit tests (deploy/prometheus/alerts_test.yml), in which
// each alert fires, or not, on series written for it.
func TestAlertRules(t *testing.T) {
	promtool := need(t, "PROMTOOL_BIN", "promtool")
	dir := filepath.Join(repoRoot(t), "deploy", "prometheus")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert of alerts.yml has a unit test.
	rules, tests := readDeploy(t, "alerts.yml"), readDeploy(t, "alerts_test.yml")
	for _, name := range alertNames(rules) {
		if !strings.Contains(tests, "alertname: "+name+"\n") {
			t.Errorf("alert %s has no test in alerts_test.yml", name)
		}
	}
}

func readDeploy(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	alertLine = regexp.MustCompile(`(?m)^\s+- alert: (\S+)$`)
	forLine   = regexp.MustCompile(`(?m)^(\s+for:) \S+$`)
)

func alertNames(rules string) []string {
	var names []string
	for _, m := range alertLine.FindAllStringSubmatch(rules, -1) {
		names = append(names, m[1])
	}
	return names
}

// fastRules writes, under dir, the shipped rules as they are and a copy in
// group "redghost-fast" whose alerts fire as soon as their condition
// holds (every "for" is 0s), so that a test sees one fire within seconds;
// it answers both paths.
func fastRules(t testing.TB, dir string) (shipped, fast string) {
	t.Helper()
	rules := readDeploy(t, "alerts.yml")
	if n := len(forLine.FindAllString(rules, -1)); n == 0 {
		t.Fatal("alerts.yml has no \"for:\" line to shorten")
	}
	copied := forLine.ReplaceAllString(rules, "$1 0s")
	copied = strings.Replace(copied, "- name: redghost\n", "- name: redghost-fast\n", 1)
	if copied == rules || !strings.Contains(copied, "redghost-fast") {
		t.Fatal("alerts.yml: group \"redghost\" not found")
	}
	shipped = filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yml")
	fast = filepath.Join(dir, "alerts-fast.yml")
	writeFile(t, fast, copied)
	return shipped, fast
}

// checkAlerts wants the shipped rules loaded and evaluated without error
// by the Prometheus that scrapes the demo, the alerts of a healthy demo
// (workers running, queues read and drained) quiet, and then, from the
// rules' fast copy, RedGhostQueueStatsDown firing for the demo's queues
// while Redis is stopped and resolved once it is back.
func checkAlerts(t *testing.T, promURL string, redis *redistest.Server) {
	want := alertNames(readDeploy(t, "alerts.yml"))
	waitFor(t, "every rule evaluated without error", 20*time.Second, nil, func() error {
		data, err := promGet(promURL, "/api/v1/rules", nil)
		if err != nil {
			return err
		}
		var v struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					Error  string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		groups := map[string][]string{}
		for _, g := range v.Groups {
			for _, r := range g.Rules {
				if r.Health != "ok" {
					return fmt.Errorf("group %s, rule %s: health %q %s", g.Name, r.Name, r.Health, r.Error)
				}
				groups[g.Name] = append(groups[g.Name], r.Name)
			}
		}
		for _, g := range []string{"redghost", "redghost-fast"} {
			if !slices.Equal(groups[g], want) {
				return fmt.Errorf("group %s has rules %v, want %v", g, groups[g], want)
			}
		}
		return nil
	})

	got, err := firingAlerts(promURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, quiet := range []string{"RedGhostOldestMessageTooOld", "RedGhostNoWorkerRunning", "RedGhostQueueStatsDown", "RedGhostQueueCollectorAbsent"} {
		if a := got[quiet]; len(a) > 0 {
			t.Errorf("%s fires for the healthy demo: %v", quiet, a)
		}
	}

	statsDown := func() (queues []string, err error) {
		got, err := firingAlerts(promURL)
		for _, l := range got["RedGhostQueueStatsDown"] {
			if l["severity"] == "critical" && l["job"] == "redghost-demo" {
				queues = append(queues, l["queue"])
			}
		}
		slices.Sort(queues)
		return queues, err
	}
	redis.Stop()
	restarted := false
	defer func() {
		if !restarted {
			redis.Restart(t) // for the rest of the test
		}
	}()
	waitFor(t, "RedGhostQueueStatsDown firing with Redis stopped", 30*time.Second, nil, func() error {
		queues, err := statsDown()
		if err == nil && !slices.Contains(queues, "orders") {
			err = fmt.Errorf("RedGhostQueueStatsDown fires for %v, want orders among them", queues)
		}
		return err
	})
	redis.Restart(t)
	restarted = true
	waitFor(t, "RedGhostQueueStatsDown resolved with Redis back", 30*time.Second, nil, func() error {
		queues, err := statsDown()
		if err == nil && len(queues) > 0 {
			err = fmt.Errorf("RedGhostQueueStatsDown still fires for %v", queues)
		}
		return err
	})
}

// firingAlerts answers the labels of the firing alerts by alert name.
func firingAlerts(promURL string) (map[string][]map[string]string, error) {
	data, err := promGet(promURL, "/api/v1/alerts", nil)
	if err != nil {
		return nil, err
	}
	var v struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	out := map[string][]map[string]string{}
	for _, a := range v.Alerts {
		if a.State == "firing" {
			out[a.Labels["alertname"]] = append(out[a.Labels["alertname"]], a.Labels)
		}
	}
	return out, nil
}
