package redistest

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestStartPingStop(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if s.Addr() == "127.0.0.1:6379" {
		t.Fatal("server on the default port")
	}
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	// The defaults: no snapshots, no append-only file.
	cfg, err := c.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if cfg["save"] != "" || cfg["appendonly"] != "no" || cfg["dir"] == "" {
		t.Fatalf("config save=%q appendonly=%q dir=%q", cfg["save"], cfg["appendonly"], cfg["dir"])
	}
	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Stop")
	}
}

func TestKillRestartAppendOnly(t *testing.T) {
	t.Parallel()
	s := Start(t, WithAppendOnly(), WithArgs("--maxmemory", "64mb"))
	c := s.Client(t)
	ctx := context.Background()
	if got := c.ConfigGet(ctx, "maxmemory").Val()["maxmemory"]; got != "67108864" {
		t.Fatalf("maxmemory %q: WithArgs not applied", got)
	}
	if err := c.Set(ctx, "k", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart(t)
	if s.Addr() != addr {
		t.Fatalf("restart moved from %s to %s", addr, s.Addr())
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "kept" {
		t.Fatalf("after restart GET k = %q, %v; want kept", got, err)
	}
}

func TestKillWithoutAppendOnlyLosesData(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	s.Restart(t)
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Fatalf("key survived a kill without append-only (EXISTS %d)", n)
	}
}

func TestShared(t *testing.T) {
	t.Parallel()
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Fatal("Shared started two servers")
	}
	if err := a.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
