// Package redistest starts throwaway redis-server processes for tests.
//
// Each [Start] runs its own redis-server on a free 127.0.0.1 port with a
// temporary directory, no RDB snapshots and (by default) no append-only
// file, and kills it when the test ends. It never touches a server on the
// default port 6379.
//
// When redis-server is not on PATH the test is skipped, unless the CI
// environment variable is set: in CI a missing server fails the test.
//
// [Shared] gives all tests of a package one server (stopped by
// [StopShared] in TestMain), for tests that keep apart by key prefix.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/redghost/redghost/internal/syncbuf"
)

// Option configures a [Server].
type Option func(*config)

type config struct {
	appendOnly bool
	args       []string
	bin        string
}

// WithAppendOnly turns the append-only file on (fsync every write), so that
// data survives [Server.Kill] followed by [Server.Restart].
func WithAppendOnly() Option { return func(c *config) { c.appendOnly = true } }

// WithArgs passes extra command-line arguments to redis-server, after the
// defaults (so they may override them), e.g. WithArgs("--maxmemory", "10mb").
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithBinary runs the redis-server at path instead of the one on PATH.
func WithBinary(path string) Option { return func(c *config) { c.bin = path } }

// Server is one redis-server process owned by a test.
type Server struct {
	bin  string
	dir  string
	port int
	cfg  config

	mu   sync.Mutex
	proc *process // nil when not running
}

type process struct {
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{} // closed when the process has exited
}

const (
	startAttempts = 10
	readyTimeout  = 15 * time.Second
)

// Start starts a redis-server for t and registers its shutdown with
// t.Cleanup. It fails t if the server does not answer PING in time.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t.TempDir(), opts)
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(s.Stop)
	return s
}

var shared struct {
	mu  sync.Mutex
	srv *Server
	dir string
	err error
}

// Shared answers the test binary's shared server, starting it on first
// use (the options of later calls are ignored). Tests sharing it must keep
// apart by key prefix or name. It skips or fails t as Start does; stop it
// with [StopShared] from TestMain, after m.Run.
func Shared(t testing.TB, opts ...Option) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.dir, shared.err = os.MkdirTemp("", "redistest-")
		if shared.err == nil {
			shared.srv, shared.err = start(shared.dir, opts)
		}
	}
	if shared.err != nil {
		skipOrFail(t, shared.err)
	}
	return shared.srv
}

// StopShared stops the shared server, if one was started, and removes its
// directory.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
		shared.srv = nil
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
		shared.dir = ""
	}
}

var errNoServer = errors.New("redis-server is not on PATH")

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoServer) && os.Getenv("CI") == "" {
		t.Skip("redistest: redis-server is not on PATH (install it, e.g. apt-get install redis-server); skipping")
	}
	t.Fatalf("redistest: %v", err)
}

// Launch starts a redis-server in dir, as [Start] does, for a program that
// is not a test (a benchmark): the caller stops it with [Server.Stop] and
// owns dir.
func Launch(dir string, opts ...Option) (*Server, error) { return start(dir, opts) }

func start(dir string, opts []Option) (*Server, error) {
	s := &Server{dir: dir}
	for _, o := range opts {
		o(&s.cfg)
	}
	name := s.cfg.bin
	if name == "" {
		name = "redis-server"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w (CI=%q): %v", errNoServer, os.Getenv("CI"), err)
	}
	s.bin = bin
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		s.port = port
		if lastErr = s.launch(); lastErr == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("redis-server did not start after %d attempts: %w", startAttempts, lastErr)
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client returns a new client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill kills the server with SIGKILL (a crash, for fault tests) and waits
// until it has exited. Without [WithAppendOnly] its data is lost.
func (s *Server) Kill() { s.halt(syscall.SIGKILL) }

// Stop shuts the server down (SIGTERM) and waits until it has exited. It
// does nothing if the server is not running.
func (s *Server) Stop() { s.halt(syscall.SIGTERM) }

// Restart starts the server again on the same port and directory, e.g.
// after [Server.Kill]; a running server is stopped first. With
// [WithAppendOnly] the data written before is loaded again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	var err error
	// The port was ours a moment ago; retry briefly in case the kernel
	// still holds it.
	for range startAttempts {
		if err = s.launch(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: restart on %s: %v", s.Addr(), err)
}

func (s *Server) halt(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (s *Server) args() []string {
	appendOnly := "no"
	if s.cfg.appendOnly {
		appendOnly = "yes"
	}
	a := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", appendOnly,
		"--appendfsync", "always",
		"--daemonize", "no",
		"--logfile", "",
	}
	return append(a, s.cfg.args...)
}

// launch starts the process and waits for PING. On failure the process is
// gone and the error carries its output.
func (s *Server) launch() error {
	if s.port == 6379 {
		return errors.New("refusing port 6379")
	}
	out := &syncbuf.Buffer{Limit: 64 << 10}
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()

	deadline := time.Now().Add(readyTimeout)
	for {
		if ping(s.Addr()) == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("redis-server exited on %s: %s", s.Addr(), out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("redis-server on %s did not answer PING within %s: %s", s.Addr(), readyTimeout, out.String())
		}
	}
}

// ping sends an inline PING and expects +PONG. A server that is still
// loading its append-only file answers -LOADING and is not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort asks the kernel for a free port. Another process may take it
// before redis-server binds it; Start then retries with another.
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

// Main is a TestMain for packages that use [Shared]: it runs the tests,
// stops the shared server, and fails the run if a test left a goroutine
// behind (a worker not stopped, a client not closed).
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
