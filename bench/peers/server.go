package peers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a private redis-server on a free loopback port, started by the
// benchmark and killed when it ends. It never uses port 6379.
type Server struct {
	cmd    *exec.Cmd
	port   int
	dir    string
	exited chan struct{}
	out    lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartServer starts bin (redis-server) with no persistence on a free
// 127.0.0.1 port and waits until it answers PING.
func StartServer(bin string) (*Server, error) {
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (install it, e.g. apt-get install redis-server): %w", err)
	}
	var lastErr error
	for range 5 {
		s, err := launch(path)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launch(path string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rgbench-redis-")
	if err != nil {
		return nil, err
	}
	s := &Server{port: port, dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(path,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "",
	)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	// The server dies with the benchmark, even if the benchmark is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("redis-server exited on port %d: %s", port, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("redis-server did not answer PING within 15s")
		}
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop terminates the server and removes its directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	_ = os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port != 6379 {
			return port, nil
		}
	}
}

// info reads the fields of one INFO section as strings.
func info(ctx context.Context, c redis.UniversalClient, section string) (map[string]string, error) {
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m, nil
}

// redisSnapshot is what the benchmark reads from Redis around a run.
type redisSnapshot struct {
	cpu   float64 // used_cpu_user + used_cpu_sys, seconds
	calls map[string]int64
	usec  map[string]int64
}

func snapshot(ctx context.Context, c redis.UniversalClient) (redisSnapshot, error) {
	var s redisSnapshot
	cpu, err := info(ctx, c, "cpu")
	if err != nil {
		return s, err
	}
	u, _ := strconv.ParseFloat(cpu["used_cpu_user"], 64)
	y, _ := strconv.ParseFloat(cpu["used_cpu_sys"], 64)
	s.cpu = u + y
	cs, err := info(ctx, c, "commandstats")
	if err != nil {
		return s, err
	}
	s.calls, s.usec = map[string]int64{}, map[string]int64{}
	for k, v := range cs {
		name := strings.TrimPrefix(k, "cmdstat_")
		for _, f := range strings.Split(v, ",") {
			fk, fv, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				s.calls[name] = n
			case "usec":
				s.usec[name] = n
			}
		}
	}
	return s, nil
}

func usedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
	m, err := info(ctx, c, "memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m["used_memory"], 10, 64)
}
