package topology

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/internal/redistest"
)

// A primary, a replica and three sentinels; a publisher and a worker on
// a failover client. The primary is killed (SIGKILL) with a backlog in
// the queue: the sentinels promote the replica, the client follows, every
// message published after the failover is handled, and what the replica
// had not received is lost (printed).
func TestSentinelFailover(t *testing.T) {
	need(t, "redis-server")
	ctx := context.Background()
	primary := redistest.Start(t)
	host, port, _ := strings.Cut(primary.Addr(), ":")
	replica := redistest.Start(t, redistest.WithArgs("--replicaof", host, port))
	waitInSync(t, replica.Client(t))

	const name = "rg"
	var sentinels []*proc
	var addrs []string
	for range 3 {
		dir := t.TempDir()
		s := startProc(t, func(p int) []string {
			conf := filepath.Join(dir, "sentinel.conf")
			text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
				"sentinel monitor %s %s %s 2\n"+
				"sentinel down-after-milliseconds %s 1000\n"+
				"sentinel failover-timeout %s 10000\n", p, dir, name, host, port, name, name)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		}, ping)
		sentinels = append(sentinels, s)
		addrs = append(addrs, s.addr)
	}
	// Every sentinel knows the two others and the replica, so that a
	// majority can agree on a failover.
	for _, s := range sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: s.addr})
		defer sc.Close()
		eventually(t, 30*time.Second, "sentinel "+s.addr+" knows its peers and the replica", func() error {
			m, err := sc.Master(ctx, name).Result()
			if err != nil {
				return err
			}
			if m["num-other-sentinels"] != "2" || m["num-slaves"] != "1" {
				return fmt.Errorf("other sentinels %s, replicas %s", m["num-other-sentinels"], m["num-slaves"])
			}
			return nil
		})
	}

	fc := sentinelClient(name, addrs)
	t.Cleanup(func() { _ = fc.Close() })
	b := newBackend(t, fc)
	tr := startTraffic(t, b, "orders", 1<<10)
	tr.waitAccepted(500, 20*time.Second)

	tr.hold() // a backlog: what the worker handled cannot be lost
	tr.waitAccepted(500, 20*time.Second)
	primary.Kill()
	killedAt := time.Now()
	tr.release()

	sc := redis.NewSentinelClient(&redis.Options{Addr: addrs[0]})
	defer sc.Close()
	eventually(t, 30*time.Second, "the replica promoted", func() error {
		a, err := sc.GetMasterAddrByName(ctx, name).Result()
		if err == nil && strings.Join(a, ":") != replica.Addr() {
			err = fmt.Errorf("primary is %v", a)
		}
		return err
	})
	promotedAt := time.Now()
	tr.waitAccepted(1000, 30*time.Second)
	after := tr.acceptedAfter(promotedAt)
	lost := tr.drain(3*time.Second, 30*time.Second)
	line := tr.report(fmt.Sprintf("sentinel, primary killed (replica promoted %s after the kill), without replica ack",
		promotedAt.Sub(killedAt).Round(time.Millisecond)), lost)
	fmt.Println("topology:", line)

	lostSet := map[string]bool{}
	for _, id := range lost {
		lostSet[id] = true
		if at := tr.acceptedAt(id); at.After(killedAt) || killedAt.Sub(at) > 2*time.Second {
			t.Errorf("lost %s, confirmed %s before the kill: more than the replica's lag", id, killedAt.Sub(at))
		}
	}
	for _, id := range after {
		if lostSet[id] {
			t.Fatalf("%s, published after the failover, was never handled", id)
		}
	}
	if len(after) < 1000 {
		t.Fatalf("only %d messages published after the failover", len(after))
	}
}

// ping is a readiness check: the server at addr answers PING.
func ping(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}
