package main

import (
	"testing"
	"time"

	"github.com/redghost/redghost/core/redisqueue"
)

func TestParseConfig(t *testing.T) {
	t.Setenv("DEMO_RATE", "5")
	t.Setenv("REDIS_URL", "redis://example:6380/1")
	c, err := parseConfig([]string{"-rate", "7", "-outage-every", "10s", "-outage-for", "2s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.rate != 7 || c.redisURL != "redis://example:6380/1" || c.outageEvery != 10*time.Second || c.metricsAddr != ":2112" {
		t.Errorf("config %+v: flags should win over env, env over defaults", c)
	}
	// The queues are where redghost looks without -prefix.
	t.Setenv("REDIS_PREFIX", "")
	if c, err := parseConfig(nil); err != nil || c.prefix != redisqueue.DefaultPrefix {
		t.Errorf("default prefix %q (%v), want %q", c.prefix, err, redisqueue.DefaultPrefix)
	}
	if _, err := parseConfig([]string{"-outage-every", "1s", "-outage-for", "2s"}); err == nil {
		t.Error("an outage longer than its period was accepted")
	}
}

func TestNextJob(t *testing.T) {
	if q, j := nextJob(1); q != "orders" || j.Kind != KindFlaky {
		t.Errorf("message 1: %s %s, want a flaky order", q, j.Kind)
	}
	if q, j := nextJob(2); q != "orders" || j.Kind != KindBad {
		t.Errorf("message 2: %s %s, want a bad order", q, j.Kind)
	}
	kinds := map[string]int{}
	for n := 3; n < 3000; n++ {
		q, j := nextJob(n)
		if (n%3 == 0) != (q == "emails") {
			t.Fatalf("message %d went to %s", n, q)
		}
		kinds[j.Kind]++
	}
	for _, k := range []string{KindOK, KindSlow, KindFlaky, KindBad, KindHopeless, KindPanic} {
		if kinds[k] == 0 {
			t.Errorf("no %s job in 3000", k)
		}
	}
}

func TestSMTPOutage(t *testing.T) {
	s := &smtp{start: time.Now().Add(-8500 * time.Millisecond), every: 10 * time.Second, down: 2 * time.Second}
	if s.up() {
		t.Error("up 8.5 s into a 10 s period whose last 2 s are down")
	}
	s.start = time.Now().Add(-time.Second)
	if !s.up() {
		t.Error("down 1 s into the period")
	}
}
