package topology

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/syncbuf"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMain(m *testing.M) {
	redis.SetLogger(discardLogger{}) // dial errors while a node is down are expected
	redistest.Main(m)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// need skips the test when a program is missing, or fails it under CI.
func need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH: %v", prog, err)
		}
		t.Skipf("%s is not on PATH (apt-get install redis-server); skipping", prog)
	}
	return p
}

// proc is a redis-server process that redistest cannot start (a sentinel
// needs its config file first; a TLS-only server answers no plain PING).
type proc struct {
	addr   string
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
}

// startProc runs redis-server with args made by mkArgs(port) on a free
// port, until ready(addr) succeeds; it is killed when t ends.
func startProc(t testing.TB, mkArgs func(port int) []string, ready func(addr string) error) *proc {
	t.Helper()
	bin := need(t, "redis-server")
	var lastErr error
	for range 5 {
		port := freePort(t)
		p := &proc{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), out: &syncbuf.Buffer{Limit: 64 << 10}, exited: make(chan struct{})}
		p.cmd = exec.Command(bin, mkArgs(port)...)
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = p.cmd.Wait(); close(p.exited) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			lastErr = ready(p.addr)
			if lastErr == nil {
				t.Cleanup(p.kill)
				return p
			}
			select {
			case <-p.exited:
				lastErr = fmt.Errorf("exited: %s", p.out.String())
			case <-time.After(20 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				p.kill()
			}
			break
		}
	}
	t.Fatalf("redis-server did not start: %v", lastErr)
	return nil
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func freePort(t testing.TB) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port != 6379 && port != 26379 {
			return port
		}
	}
}

// eventually polls cond every 50ms until it answers nil, and fails t with
// its last error after d.
func eventually(t testing.TB, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %v", what, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoField answers one field of INFO section on c.
func infoField(ctx context.Context, c *redis.Client, section, field string) (string, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in INFO %s", field, section)
}

// waitInSync waits until the replica at c has its link to its primary up.
func waitInSync(t testing.TB, c *redis.Client) {
	t.Helper()
	eventually(t, 20*time.Second, "replica in sync with its primary", func() error {
		v, err := infoField(context.Background(), c, "replication", "master_link_status")
		if err == nil && v != "up" {
			err = fmt.Errorf("master_link_status:%s", v)
		}
		return err
	})
}
