// Package peers benchmarks Red Ghost against peer queue libraries
// (hibiken/asynq v0.26.0) on one private redis-server, interleaving the
// systems' runs and printing one table of medians with ours/peer ratios.
//
// It is a separate module so that peers never enter the library's
// dependencies. The program is cmd/rgbench; see bench/README.md.
package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config says what to run. Zero fields take the defaults of [Config.WithDefaults].
type Config struct {
	RedisServer string        // redis-server binary (default "redis-server" on PATH)
	Messages    int           // messages for the 50-goroutine, batch, end-to-end and memory rows (default 100,000)
	Single      int           // messages for the one-goroutine enqueue row (default Messages/5)
	Runs        int           // interleaved runs per row; the table shows medians (default 3)
	Rows        []string      // workload keys to run (default all; see [Workloads])
	Systems     []string      // systems to run: "ours", "asynq" (default both)
	Rate        int           // messages per second of the latency row (default 1000)
	LatencyFor  time.Duration // how long the latency row sends (default 5 s)
	IdleFor     time.Duration // how long the idle row measures (default 10 s)
	RunTimeout  time.Duration // bound on one run's handling (default 3 min)
	Detail      bool          // add round trips, commands and Redis CPU per message
	// Chain runs the middleware rows (ours only: the README's chain and
	// each of its middleware around the worker's handler, see [Chains])
	// instead of the default table, when Rows is empty.
	// ProfileDir, when set, gets a CPU profile of this process for the
	// measured part of every run: <workload>-<system>-<run>.pprof.
	ProfileDir string
	// Slowlog, when positive, sets Redis's slowlog-log-slower-than to it
	// and reports the slowest commands of each run.
	Slowlog  time.Duration
	Chain    bool
	Progress io.Writer // progress lines (default os.Stderr)
}

// Quick is a CI-sized configuration: a few thousand messages, one run.
func Quick() Config {
	return Config{Messages: 5000, Single: 1000, Runs: 1, LatencyFor: time.Second, IdleFor: 2 * time.Second, RunTimeout: time.Minute}
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Messages <= 0 {
		c.Messages = 100_000
	}
	if c.Single <= 0 {
		c.Single = max(1, c.Messages/5)
	}
	if c.Runs <= 0 {
		c.Runs = 3
	}
	if len(c.Systems) == 0 {
		c.Systems = []string{"ours", "asynq"}
	}
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.LatencyFor <= 0 {
		c.LatencyFor = 5 * time.Second
	}
	if c.IdleFor <= 0 {
		c.IdleFor = 10 * time.Second
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = 3 * time.Minute
	}
	if c.Progress == nil {
		c.Progress = os.Stderr
	}
	return c
}

// systems are the constructors of the systems under test, by name.
var systems = map[string]func(addr string) (System, error){
	"ours":  NewOurs,
	"asynq": func(addr string) (System, error) { return NewAsynq(addr), nil },
}

// workload is one kind of run, giving one or more table lines.
type workload struct {
	key   string
	lines []line
	// oursOnly workloads run on ours alone; chainRow ones are the -chain
	// table's, not the default's.
	oursOnly, chainRow bool
	// messages is how many messages one run handles or enqueues in its
	// measured part (0: none), for the per-message detail lines.
	messages func(c Config) int
	run      func(ctx context.Context, e *env, sys System, queue string) (runResult, error)
}

type line struct {
	label string
	unit  unit
	floor *floor
}

func workloads(c Config) []workload {
	n := func(c Config) int { return c.Messages }
	all := []workload{
		{key: "enqueue-1", messages: func(c Config) int { return c.Single },
			lines: []line{{label: "enqueue, 1 goroutine, 1 msg/call", unit: perSec}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runEnqueue(ctx, e, s, q, 1, c.Single)
			}},
		{key: "enqueue-50", messages: n,
			lines: []line{{label: "enqueue, 50 goroutines, 1 msg/call", unit: perSec, floor: ratioFloor(2)}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runEnqueue(ctx, e, s, q, 50, c.Messages)
			}},
		{key: "batch-100", messages: n,
			lines: []line{{label: "batch enqueue, 100/call, 1 goroutine (asynq: 50 goroutines)", unit: perSec, floor: ratioFloor(6)}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runBatch(ctx, e, s, q, 100, 1, c.Messages)
			}},
		{key: "batch-1000", messages: n,
			lines: []line{{label: "batch enqueue, 1000/call, 1 goroutine (asynq: 50 goroutines)", unit: perSec, floor: ratioFloor(6)}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runBatch(ctx, e, s, q, 1000, 1, c.Messages)
			}},
		{key: "batch-100x4", messages: n,
			lines: []line{{label: "batch enqueue, 100/call, 4 goroutines (asynq: 50 goroutines)", unit: perSec, floor: ratioFloor(6)}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runBatch(ctx, e, s, q, 100, 4, c.Messages)
			}},
		{key: "e2e-10", messages: n,
			lines: []line{{label: "end to end, pre-filled, concurrency 10", unit: perSec, floor: e2eFloor()}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runEndToEnd(ctx, e, s, q, 10, c.Messages)
			}},
		{key: "e2e-10q", messages: n,
			lines: []line{{label: "end to end, pre-filled, 1 worker over 10 queues, concurrency 10", unit: perSec}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runEndToEndMany(ctx, e, s, q, 10, 10, c.Messages)
			}},
		{key: "e2e-100", messages: n,
			lines: []line{{label: "end to end, pre-filled, concurrency 100", unit: perSec, floor: e2eFloor()}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runEndToEnd(ctx, e, s, q, 100, c.Messages)
			}},
		{key: "pubsub-50", messages: n,
			lines: []line{{label: "50 goroutines enqueueing and a worker (c=10) at once", unit: perSec, floor: minFloor(160_000)}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runPubSub(ctx, e, s, q, 50, c.Messages)
			}},
		{key: "latency", messages: func(c Config) int { return int(float64(c.Rate) * c.LatencyFor.Seconds()) },
			lines: []line{
				{label: fmt.Sprintf("latency enqueue→handler p50 @ %d msgs/s", c.Rate), unit: millis},
				{label: fmt.Sprintf("latency enqueue→handler p99 @ %d msgs/s", c.Rate), unit: millis, floor: maxFloor(5, "≤ 5 ms")},
			},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runLatency(ctx, e, s, q, c.Rate, c.LatencyFor)
			}},
		{key: "memory",
			lines: []line{{label: "Redis memory per queued 100-byte msg", unit: byteSize, floor: maxFloor(300, "≤ 300 B")}},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runMemory(ctx, e, s, q, c.Messages)
			}},
		{key: "idle",
			lines: []line{
				{label: fmt.Sprintf("idle worker CPU, whole process (%s)", c.IdleFor), unit: percent, floor: ltFloor(1, "< 1 %")},
				{label: "Redis CPU while the worker idles", unit: percent},
				{label: "round trips/s while the worker idles", unit: plain},
			},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runIdle(ctx, e, s, q, c.IdleFor)
			}},
		{key: "idle-50q",
			lines: []line{
				{label: fmt.Sprintf("idle worker over 50 queues: CPU, whole process (%s)", c.IdleFor), unit: percent, floor: ltFloor(1, "< 1 %")},
				{label: "Redis CPU while the worker over 50 queues idles", unit: percent},
				{label: "round trips/s while the worker over 50 queues idles", unit: plain},
			},
			run: func(ctx context.Context, e *env, s System, q string) (runResult, error) {
				return runIdleMany(ctx, e, s, q, 50, c.IdleFor)
			}},
	}
	return append(all, chainWorkloads(c)...)
}

// Workloads lists the workload keys in table order: the default table's,
// then the -chain table's.
func Workloads() []string {
	var keys []string
	for _, w := range workloads(Config{}.WithDefaults()) {
		keys = append(keys, w.key)
	}
	return keys
}

// DefaultWorkloads lists the keys of the default table.
func DefaultWorkloads() []string {
	var keys []string
	for _, w := range workloads(Config{}.WithDefaults()) {
		if !w.chainRow {
			keys = append(keys, w.key)
		}
	}
	return keys
}

// RunRecord is one run of one workload on one system.
type RunRecord struct {
	Workload, System string
	Run              int
	Values           []float64
	// Handled, Distinct and Expected count the messages handlers saw, in
	// workloads that handle messages.
	Handled, Distinct, Expected int
	Err                         error
	meter                       meterReading
}

// Report is the outcome of [Run].
type Report struct {
	Config  Config
	Header  []string // the machine and the settings
	Rows    []Row
	Records []RunRecord
}

// env is what the workloads share.
type env struct {
	cfg   Config
	admin *redis.Client
	t0    time.Time
	run   string // <workload>-<system>-<run> of the run in progress
	mu    sync.Mutex
}

func (e *env) meter(sys System) *meter { return &meter{env: e, sys: sys} }

func (e *env) progressf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	el := time.Since(e.t0).Round(100 * time.Millisecond)
	fmt.Fprintf(e.cfg.Progress, "[%7s] "+format+"\n", append([]any{el}, args...)...)
}

// watch prints count()/total every two seconds until stopped.
func (e *env) watch(what string, total int, count func() int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				e.progressf("    %s %d/%d", what, count(), total)
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// Run starts a private redis-server, runs the chosen workloads on the
// chosen systems, interleaved (ours, asynq, ours, asynq, ...) with FLUSHALL
// before each run, and answers the table. The error joins the runs' errors;
// the report is complete all the same.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.WithDefaults()
	all := workloads(cfg)
	var chosen []workload
	for _, k := range cfg.Rows {
		i := slices.IndexFunc(all, func(w workload) bool { return w.key == k })
		if i < 0 {
			return nil, fmt.Errorf("unknown row %q (rows: %s)", k, strings.Join(Workloads(), ","))
		}
		chosen = append(chosen, all[i])
	}
	if len(cfg.Rows) == 0 {
		for _, w := range all {
			if w.chainRow == cfg.Chain || cfg.Chain && w.key == "pubsub-50" {
				chosen = append(chosen, w)
			}
		}
	}

	srv, err := StartServer(cfg.RedisServer)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	e := &env{cfg: cfg, admin: redis.NewClient(&redis.Options{Addr: srv.Addr()}), t0: time.Now()}
	defer e.admin.Close()

	var syss []System
	for _, name := range cfg.Systems {
		mk, ok := systems[name]
		if !ok {
			return nil, fmt.Errorf("unknown system %q (ours, asynq)", name)
		}
		s, err := mk(srv.Addr())
		if err != nil {
			return nil, err
		}
		defer s.Close()
		syss = append(syss, s)
	}

	if cfg.Slowlog > 0 {
		if err := e.admin.ConfigSet(ctx, "slowlog-log-slower-than", fmt.Sprint(cfg.Slowlog.Microseconds())).Err(); err != nil {
			return nil, err
		}
		if err := e.admin.ConfigSet(ctx, "slowlog-max-len", "1000").Err(); err != nil {
			return nil, err
		}
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep := &Report{Config: cfg, Header: header(ctx, e.admin, cfg)}
	e.progressf("redis-server on %s; rows %s; systems %s; %d run(s) each",
		srv.Addr(), strings.Join(keys(chosen), ","), strings.Join(cfg.Systems, ","), cfg.Runs)
	var errs []error
	// Row by row, each row's runs alternating the systems; with -chain
	// (one system, rows compared with each other) round by round instead,
	// every row once per round, so that a drift over the session (the
	// server's memory warming up, the machine's load) falls on every row
	// alike rather than on the first ones.
	type step struct{ wi, r int }
	var steps []step
	for a := range len(chosen) * cfg.Runs {
		if cfg.Chain {
			steps = append(steps, step{a % len(chosen), a / len(chosen)})
		} else {
			steps = append(steps, step{a / cfg.Runs, a % cfg.Runs})
		}
	}
	for _, st := range steps {
		wi, w, r := st.wi, chosen[st.wi], st.r
		for _, s := range syss {
			if w.oursOnly && s.Name() != "ours" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, errors.Join(append(errs, err)...)
			}
			if err := e.admin.FlushAll(ctx).Err(); err != nil {
				return rep, errors.Join(append(errs, err)...)
			}
			runtime.GC()
			e.progressf("%s (%d/%d) run %d/%d %s", w.key, wi+1, len(chosen), r+1, cfg.Runs, s.Name())
			queue := fmt.Sprintf("bench-%s-%d", w.key, r)
			e.run = fmt.Sprintf("%s-%s-%d", w.key, s.Name(), r+1)
			rctx, cancel := context.WithTimeout(ctx, cfg.RunTimeout+cfg.LatencyFor+cfg.IdleFor+time.Minute)
			res, err := w.run(rctx, e, s, queue)
			cancel()
			rec := RunRecord{Workload: w.key, System: s.Name(), Run: r, Values: res.values,
				Handled: res.handled, Distinct: res.distinct, Expected: res.expected, Err: err, meter: res.meter}
			rep.Records = append(rep.Records, rec)
			e.progressf("  → %s", describe(w, rec))
			if err != nil {
				err = fmt.Errorf("%s run %d %s: %w", w.key, r+1, s.Name(), err)
				e.progressf("  ERROR %v", err)
				errs = append(errs, err)
			}
		}
	}
	_ = e.admin.FlushAll(ctx).Err()
	rep.Rows = rows(cfg, chosen, rep.Records)
	return rep, errors.Join(errs...)
}

func keys(ws []workload) []string {
	var k []string
	for _, w := range ws {
		k = append(k, w.key)
	}
	return k
}

// describe is a run's progress line: its values and, where messages were
// measured, what each cost in round trips and Redis time.
func describe(w workload, r RunRecord) string {
	var parts []string
	for i, v := range r.Values {
		if i < len(w.lines) {
			parts = append(parts, w.lines[i].unit.format(v))
		}
	}
	s := strings.Join(parts, ", ")
	if r.Expected > 0 {
		s += fmt.Sprintf(" (handled %d, distinct %d of %d)", r.Handled, r.Distinct, r.Expected)
	}
	m := r.meter
	if m.messages > 0 {
		s += fmt.Sprintf(" | per msg: %.3f round trips, %.2f cmds sent, %.2f Redis calls, %.2f µs Redis CPU",
			float64(m.trips)/float64(m.messages), float64(m.cmds)/float64(m.messages),
			float64(sum(m.calls))/float64(m.messages), m.redisCPU*1e6/float64(m.messages))
		s += " | Redis time: " + topCommands(m, 4)
	}
	if len(m.kinds) > 0 {
		s += " | client: " + clientKinds(m, 4)
	}
	if len(m.slow) > 0 {
		s += " | slowlog: " + slowest(m.slow, 3)
	}
	return s
}

// clientKinds names the commands the client sent most, with their mean
// round-trip time as the client saw it.
func clientKinds(m meterReading, n int) string {
	type kv struct {
		k string
		v KindStat
	}
	var all []kv
	for k, v := range m.kinds {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.v.Calls - a.v.Calls) })
	var parts []string
	for _, x := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %d calls, mean %s", x.k, x.v.Calls, (x.v.Wait/time.Duration(x.v.Calls)).Round(time.Microsecond)))
	}
	return strings.Join(parts, "; ")
}

// slowest summarises the slow log of a run: how many entries, the slowest
// few with their command, first key and argument count.
func slowest(log []redis.SlowLog, n int) string {
	s := slices.Clone(log)
	slices.SortFunc(s, func(a, b redis.SlowLog) int { return int(b.Duration - a.Duration) })
	parts := []string{fmt.Sprintf("%d entries", len(s))}
	for _, e := range s[:min(n, len(s))] {
		what := ""
		if len(e.Args) > 0 {
			what = e.Args[0]
		}
		if len(e.Args) > 3 && (strings.EqualFold(what, "evalsha") || strings.EqualFold(what, "eval")) {
			what += " " + e.Args[3]
		}
		parts = append(parts, fmt.Sprintf("%s %s (%d args)", e.Duration, what, len(e.Args)))
	}
	return strings.Join(parts, ", ")
}

func sum(m map[string]int64) int64 {
	var t int64
	for _, v := range m {
		t += v
	}
	return t
}

// topCommands names the commands that took most of Redis's time.
func topCommands(m meterReading, n int) string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range m.usec {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.v - a.v) })
	var parts []string
	for _, x := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %d calls %.1fms", x.k, m.calls[x.k], float64(x.v)/1e3))
	}
	return strings.Join(parts, "; ")
}

func header(ctx context.Context, c *redis.Client, cfg Config) []string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	ver := "?"
	if m, err := info(ctx, c, "server"); err == nil {
		ver = m["redis_version"]
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return []string{
		fmt.Sprintf("machine: %s, %d cores (GOMAXPROCS %d), load average at start %s", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), load),
		fmt.Sprintf("software: %s %s/%s, Redis %s (private server, no persistence), asynq v0.26.0 defaults", runtime.Version(), runtime.GOOS, runtime.GOARCH, ver),
		fmt.Sprintf("settings: %d messages (1-goroutine enqueue: %d), %d-byte payloads, median of %d interleaved runs, latency %d msgs/s for %s, idle %s",
			cfg.Messages, cfg.Single, PayloadSize, cfg.Runs, cfg.Rate, cfg.LatencyFor, cfg.IdleFor),
		"date: " + time.Now().UTC().Format("2006-01-02 15:04 MST"),
	}
}
