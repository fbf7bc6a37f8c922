package chaos_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// long is the long form: CHAOS_LONG=1 runs 100k messages, repeated
// crashes, two Redis restarts and network flaps.
var long = os.Getenv("CHAOS_LONG") != ""

// pick answers short in the short form and lng in the long form.
func pick[T any](short, lng T) T {
	if long {
		return lng
	}
	return short
}

// scenario is one run: a private redis-server, the processes started
// against it, their record files in dir, and the faults injected.
type scenario struct {
	t     *testing.T
	name  string
	dir   string
	redis *redistest.Server
	queue string
	c     *redis.Client
	b     core.Backend

	mu     sync.Mutex
	procs  []*proc
	nproc  int
	faults []*fault

	tally  *tally
	except map[string]bool // accepted ids that are never to be handled (poison)
}

// newScenario starts a redis-server with opts for the scenario called name.
func newScenario(t *testing.T, name string, opts ...redistest.Option) *scenario {
	t.Helper()
	s := &scenario{t: t, name: name, dir: t.TempDir(), queue: "chaos"}
	s.redis = redistest.Start(t, opts...)
	s.c = redis.NewClient(&redis.Options{Addr: s.redis.Addr()})
	b, err := newBackend(s.c)
	if err != nil {
		t.Fatal(err)
	}
	s.b = b
	s.tally = newTally(s.dir)
	t.Cleanup(func() {
		s.mu.Lock()
		procs := s.procs
		s.mu.Unlock()
		for _, p := range procs {
			p.kill()
		}
		if t.Failed() {
			for _, p := range procs {
				if b, err := os.ReadFile(p.stderr); err == nil && len(b) > 0 {
					t.Logf("--- stderr of %s (pid %d):\n%s", p.name, p.pid, tail(string(b), 3000))
				}
			}
		}
		_ = s.c.Close()
	})
	return s
}

// proc is one process of the scenario: the test binary in a role.
type proc struct {
	name   string
	pid    int
	cmd    *exec.Cmd
	stderr string
	exited chan struct{}
	err    error
	killed bool // by the test, on purpose: its exit status is not checked
}

var procAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

// spawn runs the test binary in role with the CHAOS_ settings in vars; its
// record file is dir/<name>.log and its stderr dir/<name>.stderr.
func (s *scenario) spawn(role, name string, vars map[string]string) *proc {
	s.t.Helper()
	self, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	p := &proc{name: name, stderr: filepath.Join(s.dir, name+".stderr"), exited: make(chan struct{})}
	errf, err := os.Create(p.stderr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer errf.Close()
	p.cmd = exec.Command(self)
	p.cmd.Env = append(os.Environ(), roleEnv+"="+role,
		"CHAOS_OUT="+filepath.Join(s.dir, name+".log"), "CHAOS_QUEUE="+s.queue)
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, "CHAOS_"+k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = errf, errf
	p.cmd.SysProcAttr = procAttr
	if err := p.cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

// workerOpts are a worker process's settings.
type workerOpts struct {
	addr        string        // Redis address (default: the scenario's server)
	concurrency int           // default 4
	lock        time.Duration // default 1 s
	handle      time.Duration // time in the handler
	grace       time.Duration // Stop deadline on SIGTERM (default 30 s)
	poison      string        // an id whose handler always panics
}

func (s *scenario) startWorker(o workerOpts) *proc {
	s.t.Helper()
	if o.addr == "" {
		o.addr = s.redis.Addr()
	}
	if o.concurrency == 0 {
		o.concurrency = 4
	}
	if o.lock == 0 {
		o.lock = time.Second
	}
	if o.grace == 0 {
		o.grace = 30 * time.Second
	}
	s.mu.Lock()
	s.nproc++
	name := fmt.Sprintf("w%02d", s.nproc)
	s.mu.Unlock()
	return s.spawn("worker", name, map[string]string{
		"ADDR": o.addr, "CONC": strconv.Itoa(o.concurrency), "LOCK": o.lock.String(),
		"HANDLE": o.handle.String(), "GRACE": o.grace.String(), "POISON": o.poison,
	})
}

func (s *scenario) startWorkers(n int, o workerOpts) []*proc {
	s.t.Helper()
	ws := make([]*proc, n)
	for i := range ws {
		ws[i] = s.startWorker(o)
	}
	return ws
}

// producerOpts are the producer's settings.
type producerOpts struct {
	n        int
	rate     int // messages a second; 0: as fast as it can
	batch    int // default 20
	payload  int // bytes, default 16
	untilOOM bool
}

func (s *scenario) startProducer(o producerOpts) *proc {
	s.t.Helper()
	if o.batch == 0 {
		o.batch = 20
	}
	if o.payload == 0 {
		o.payload = 16
	}
	vars := map[string]string{
		"ADDR": s.redis.Addr(), "N": strconv.Itoa(o.n), "RATE": strconv.Itoa(o.rate),
		"BATCH": strconv.Itoa(o.batch), "PAYLOAD": strconv.Itoa(o.payload), "IDS": "m",
	}
	if o.untilOOM {
		vars["UNTIL_OOM"] = "1"
	}
	return s.spawn("producer", "producer", vars)
}

// kill sends SIGKILL and waits for the exit.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.name, err)
	}
}

// term sends SIGTERM and waits up to timeout for a clean exit.
func (p *proc) term(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	p.wait(t, timeout)
}

// wait waits up to timeout for the process to exit by itself with status 0.
func (p *proc) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("%s (pid %d) did not exit within %s", p.name, p.pid, timeout)
	}
	if p.err != nil && !p.killed {
		b, _ := os.ReadFile(p.stderr)
		t.Fatalf("%s (pid %d) exited with %v:\n%s", p.name, p.pid, p.err, tail(string(b), 3000))
	}
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// fault is one injected fault: when it began and ended, and the messages
// locked (held by some handler) around it.
type fault struct {
	what       string
	start, end time.Time
	locked     map[string]bool
	// unsynced is how much of what Redis acknowledged before the fault it
	// may lose (appendfsync everysec): what was enqueued or handled in that
	// window counts as in flight, and enqueues accepted in it may be lost.
	unsynced time.Duration
}

// excused says whether an accepted id may be lost: it was accepted in the
// unsynced window before a fault.
func (s *scenario) excused(accepted time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.unsynced > 0 && !accepted.Before(f.start.Add(-f.unsynced)) && !accepted.After(f.start) {
			return true
		}
	}
	return false
}

// beginFault records the start of a fault and the messages locked now.
func (s *scenario) beginFault(what string) *fault {
	s.t.Helper()
	f := &fault{what: what, start: time.Now(), locked: make(map[string]bool)}
	s.addLocked(f)
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	return f
}

// addLocked adds the messages locked now to f (a snapshot taken after a
// worker died still shows what it held: its locks have not expired yet).
func (s *scenario) addLocked(f *fault) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cursor := ""
	for {
		msgs, next, err := s.b.QueueContent(ctx, s.queue, cursor, 1000)
		if err != nil {
			s.t.Fatalf("%s: list the locked messages: %v", f.what, err)
		}
		for _, m := range msgs {
			if m.Status == core.StatusLocked || m.Status == core.StatusLockedWithRequeue {
				f.locked[m.ID] = true
			}
		}
		if next == "" {
			return
		}
		cursor = next
	}
}

func (f *fault) finish() { f.end = time.Now() }

// waitDrained waits until the producer has ended and every id it got
// accepted has been handled, failing after timeout with what is missing.
func (s *scenario) waitDrained(producer *proc, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s.tally.update()
		done := !producer.running()
		if done && producer.err != nil {
			b, _ := os.ReadFile(producer.stderr)
			s.t.Fatalf("producer exited with %v:\n%s", producer.err, tail(string(b), 3000))
		}
		var missing []string
		for _, id := range s.tally.missing() {
			if !s.except[id] && !s.excused(s.tally.accepted[id]) {
				missing = append(missing, id)
			}
		}
		if done && len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("%s: after %s, producer ended=%v, %d accepted ids not handled (first: %v)",
				s.name, timeout, done, len(missing), first(missing, 5))
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// stopWorkers stops every running worker with SIGTERM and waits for them.
func (s *scenario) stopWorkers(timeout time.Duration) {
	s.t.Helper()
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	for _, p := range procs {
		if p.running() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range procs {
		p.wait(s.t, timeout)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func first(ids []string, n int) string {
	return strings.Join(ids[:min(n, len(ids))], " ")
}
