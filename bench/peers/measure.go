package peers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// runResult is what one run of a workload on one system measured.
type runResult struct {
	values []float64 // one per table line of the workload
	// handled and distinct count the messages handlers saw (all of them
	// and each id once) in workloads that handle messages; expected is how
	// many were sent.
	handled, distinct, expected int
	meter                       meterReading
}

// meterReading is what the Redis server and the system's client did in
// the measured part of a run.
type meterReading struct {
	messages    int
	elapsed     time.Duration
	trips, cmds int64
	redisCPU    float64 // seconds
	calls, usec map[string]int64
	kinds       map[string]KindStat // the client's commands by kind
	slow        []redis.SlowLog     // when Config.Slowlog > 0
}

// meter measures the timed part of a run: round trips and commands of the
// system's client, and Redis's CPU time and command counts; with
// Config.ProfileDir, a CPU profile of this process; with
// Config.Slowlog, Redis's slow log.
type meter struct {
	env     *env
	sys     System
	start   time.Time
	trips   int64
	cmds    int64
	kinds   map[string]KindStat
	before  redisSnapshot
	prof    *os.File
	reading meterReading
}

func (m *meter) Start(ctx context.Context) error {
	var err error
	if m.env.cfg.Slowlog > 0 {
		if err := m.env.admin.Do(ctx, "slowlog", "reset").Err(); err != nil {
			return err
		}
	}
	if m.before, err = snapshot(ctx, m.env.admin); err != nil {
		return err
	}
	if dir := m.env.cfg.ProfileDir; dir != "" {
		if m.prof, err = os.Create(filepath.Join(dir, m.env.run+".pprof")); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(m.prof); err != nil {
			_ = m.prof.Close()
			m.prof = nil
			return err
		}
	}
	m.trips, m.cmds = m.sys.Counter().Load()
	m.kinds = m.sys.Counter().Kinds()
	m.start = time.Now()
	return nil
}

func (m *meter) Stop(ctx context.Context, messages int) error {
	elapsed := time.Since(m.start)
	trips, cmds := m.sys.Counter().Load()
	kinds := m.sys.Counter().Kinds()
	if m.prof != nil {
		pprof.StopCPUProfile()
		_ = m.prof.Close()
		m.prof = nil
	}
	after, err := snapshot(ctx, m.env.admin)
	if err != nil {
		return err
	}
	r := meterReading{
		messages: messages,
		elapsed:  elapsed,
		trips:    trips - m.trips,
		cmds:     cmds - m.cmds,
		redisCPU: after.cpu - m.before.cpu,
		calls:    map[string]int64{},
		usec:     map[string]int64{},
		kinds:    map[string]KindStat{},
	}
	for k, v := range after.calls {
		if d := v - m.before.calls[k]; d > 0 {
			r.calls[k] = d
		}
	}
	for k, v := range after.usec {
		if d := v - m.before.usec[k]; d > 0 {
			r.usec[k] = d
		}
	}
	for k, v := range kinds {
		b := m.kinds[k]
		if d := v.Calls - b.Calls; d > 0 {
			r.kinds[k] = KindStat{Calls: d, Wait: v.Wait - b.Wait}
		}
	}
	// The meter's own INFO and SLOWLOG calls are not the system's work.
	for _, k := range []string{"info", "slowlog"} {
		delete(r.calls, k)
		delete(r.usec, k)
	}
	if m.env.cfg.Slowlog > 0 {
		if r.slow, err = m.env.admin.SlowLogGet(ctx, 1000).Result(); err != nil {
			return err
		}
	}
	m.reading = r
	return nil
}

// tracker counts handled messages by their sequence number.
type tracker struct {
	n        int
	seen     []atomic.Bool
	handled  atomic.Int64
	distinct atomic.Int64
	done     chan struct{}
	last     atomic.Int64 // nanoseconds since base when the n-th distinct message was handled
	base     time.Time
	lat      []atomic.Int64 // latency per seq, when measured
}

func newTracker(n int, base time.Time, latency bool) *tracker {
	t := &tracker{n: n, seen: make([]atomic.Bool, n), done: make(chan struct{}), base: base}
	if latency {
		t.lat = make([]atomic.Int64, n)
	}
	return t
}

func (t *tracker) handle(p []byte) {
	now := time.Since(t.base)
	t.handled.Add(1)
	seq, sent, ok := parsePayload(p)
	if !ok || seq >= uint64(t.n) {
		return
	}
	if t.lat != nil {
		t.lat[seq].Store(int64(now - sent))
	}
	if t.seen[seq].Swap(true) {
		return
	}
	if t.distinct.Add(1) == int64(t.n) {
		t.last.Store(int64(now))
		close(t.done)
	}
}

// wait blocks until every message was handled, ctx ends or timeout passes.
func (t *tracker) wait(ctx context.Context, timeout time.Duration) error {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-t.done:
		return nil
	case <-tm.C:
	case <-ctx.Done():
	}
	return fmt.Errorf("handled %d of %d messages before the timeout", t.distinct.Load(), t.n)
}

func (t *tracker) fill(r *runResult) {
	r.handled, r.distinct, r.expected = int(t.handled.Load()), int(t.distinct.Load()), t.n
}

// payloads builds n payloads with sequence numbers from 0.
func payloads(n int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = payload(uint64(i), 0)
	}
	return ps
}

// fill enqueues ps as fast as sys can: batches of 1000 from two
// goroutines, or 50 goroutines enqueueing one message each call.
func fill(ctx context.Context, sys System, queue string, ps [][]byte) error {
	if sys.SupportsBatch() {
		return parallelBatches(ctx, sys, queue, ps, 1000, 2)
	}
	return parallelSingle(ctx, sys, queue, ps, 50)
}

// parallelSingle enqueues ps from goroutines goroutines, one per call.
func parallelSingle(ctx context.Context, sys System, queue string, ps [][]byte, goroutines int) error {
	var next atomic.Int64
	return fanOut(goroutines, func() error {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(ps) {
				return nil
			}
			if err := sys.Enqueue(ctx, queue, ps[i]); err != nil {
				return err
			}
		}
	})
}

// parallelBatches enqueues ps in batches of size from goroutines goroutines.
func parallelBatches(ctx context.Context, sys System, queue string, ps [][]byte, size, goroutines int) error {
	var next atomic.Int64
	return fanOut(goroutines, func() error {
		for {
			i := int(next.Add(int64(size)) - int64(size))
			if i >= len(ps) {
				return nil
			}
			if err := sys.EnqueueBatch(ctx, queue, ps[i:min(i+size, len(ps))]); err != nil {
				return err
			}
		}
	})
}

func fanOut(n int, f func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// runEnqueue: n messages, one per call, from goroutines goroutines.
func runEnqueue(ctx context.Context, e *env, sys System, queue string, goroutines, n int) (runResult, error) {
	ps := payloads(n)
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		return runResult{}, err
	}
	if err := parallelSingle(ctx, sys, queue, ps, goroutines); err != nil {
		return runResult{}, err
	}
	if err := m.Stop(ctx, n); err != nil {
		return runResult{}, err
	}
	return runResult{values: []float64{rate(n, m.reading.elapsed)}, meter: m.reading}, nil
}

// runBatch: n messages in batches of size from goroutines goroutines. A
// system without batch enqueue runs the 50-goroutine single enqueue instead
// (what the batch floor, ≥ 6× asynq, is measured against).
func runBatch(ctx context.Context, e *env, sys System, queue string, size, goroutines, n int) (runResult, error) {
	if !sys.SupportsBatch() {
		return runEnqueue(ctx, e, sys, queue, 50, n)
	}
	ps := payloads(n)
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		return runResult{}, err
	}
	if err := parallelBatches(ctx, sys, queue, ps, size, goroutines); err != nil {
		return runResult{}, err
	}
	if err := m.Stop(ctx, n); err != nil {
		return runResult{}, err
	}
	return runResult{values: []float64{rate(n, m.reading.elapsed)}, meter: m.reading}, nil
}

// runEndToEnd pre-fills n messages, then times a worker with concurrency
// handlers from its start until it has handled every message once. It
// answers the rate and this process's CPU time per message meanwhile.
func runEndToEnd(ctx context.Context, e *env, sys System, queue string, concurrency, n int) (runResult, error) {
	e.progressf("  filling %d messages", n)
	if err := fill(ctx, sys, queue, payloads(n)); err != nil {
		return runResult{}, fmt.Errorf("fill: %w", err)
	}
	runtime.GC()
	tr := newTracker(n, time.Now(), false)
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		return runResult{}, err
	}
	cpu0 := processCPU()
	start := time.Since(tr.base)
	w, err := sys.StartWorker(ctx, queue, concurrency, tr.handle)
	if err != nil {
		return runResult{}, err
	}
	// The client's CPU per message (this whole process: worker, go-redis,
	// middleware; the other system's clients idle meanwhile) is a second
	// value, which the -chain rows show.
	return e.finishHandled(ctx, tr, m, w, n, start, cpu0, true)
}

// finishHandled waits until tr saw n distinct messages handled (or the run
// timeout), stops the meter and the worker, and answers the rate since
// start and, with withCPU, this process's CPU per message since cpu0.
func (e *env) finishHandled(ctx context.Context, tr *tracker, m *meter, w Worker, n int, start, cpu0 time.Duration, withCPU bool, errs ...error) (runResult, error) {
	stop := e.watch("handled", n, tr.distinct.Load)
	werr := tr.wait(ctx, e.cfg.RunTimeout)
	stop()
	cpu := processCPU() - cpu0
	elapsed := time.Duration(tr.last.Load()) - start
	if werr != nil {
		elapsed = time.Since(tr.base) - start
	}
	merr := m.Stop(ctx, n)
	m.reading.elapsed = elapsed
	serr := stopWorker(w)
	res := runResult{values: []float64{rate(int(tr.distinct.Load()), elapsed)}, meter: m.reading}
	if withCPU {
		res.values = append(res.values, cpu.Seconds()*1e6/float64(n))
	}
	tr.fill(&res)
	return res, errors.Join(append(errs, werr, merr, serr)...)
}

// runEndToEndMany pre-fills n messages spread evenly over queues queues
// (named after queue), then times one worker over all of them with
// concurrency handlers from its start until it has handled every message
// once.
func runEndToEndMany(ctx context.Context, e *env, sys System, queue string, queues, concurrency, n int) (runResult, error) {
	e.progressf("  filling %d messages over %d queues", n, queues)
	ps := payloads(n)
	names := make([]string, queues)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", queue, i)
		lo, hi := i*n/queues, (i+1)*n/queues
		if err := fill(ctx, sys, names[i], ps[lo:hi]); err != nil {
			return runResult{}, fmt.Errorf("fill %s: %w", names[i], err)
		}
	}
	runtime.GC()
	tr := newTracker(n, time.Now(), false)
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		return runResult{}, err
	}
	start := time.Since(tr.base)
	w, err := sys.StartWorkerMany(ctx, names, concurrency, tr.handle)
	if err != nil {
		return runResult{}, err
	}
	return e.finishHandled(ctx, tr, m, w, n, start, 0, false)
}

func stopWorker(w Worker) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return w.Stop(ctx)
}

// runLatency starts an idle worker (concurrency 10), then enqueues at a
// steady rate for d, one message per call, each carrying its send time, and
// measures in the handler how long after its enqueue began each message
// started being handled. It answers p50 and p99 in milliseconds.
func runLatency(ctx context.Context, e *env, sys System, queue string, perSec int, d time.Duration) (runResult, error) {
	n := max(1, int(float64(perSec)*d.Seconds()))
	tr := newTracker(n, time.Now(), true)
	w, err := sys.StartWorker(ctx, queue, 10, tr.handle)
	if err != nil {
		return runResult{}, err
	}
	// Let the worker find the queue empty and settle into its idle wait.
	time.Sleep(time.Second)
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		_ = stopWorker(w)
		return runResult{}, err
	}

	due := make(chan uint64, n)
	go func() {
		defer close(due)
		tick := time.NewTicker(time.Second / time.Duration(perSec))
		defer tick.Stop()
		t0 := time.Now()
		sent := 0
		for sent < n {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
			// Catch up on missed ticks so the rate holds on a busy machine.
			want := min(n, int(time.Since(t0).Seconds()*float64(perSec))+1)
			for ; sent < want; sent++ {
				due <- uint64(sent)
			}
		}
	}()
	var sendErr atomic.Pointer[error]
	_ = fanOut(8, func() error {
		for seq := range due {
			if err := sys.Enqueue(ctx, queue, payload(seq, time.Since(tr.base))); err != nil {
				sendErr.CompareAndSwap(nil, &err)
			}
		}
		return nil
	})
	werr := tr.wait(ctx, 15*time.Second)
	merr := m.Stop(ctx, n)
	serr := stopWorker(w)
	var errSend error
	if p := sendErr.Load(); p != nil {
		errSend = fmt.Errorf("enqueue: %w", *p)
	}

	lats := make([]time.Duration, 0, n)
	for i := range tr.lat {
		if tr.seen[i].Load() {
			lats = append(lats, time.Duration(tr.lat[i].Load()))
		}
	}
	slices.Sort(lats)
	ms := func(q float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		i := min(len(lats)-1, max(0, int(q*float64(len(lats))+0.999999)-1))
		return float64(lats[i]) / 1e6
	}
	res := runResult{values: []float64{ms(0.50), ms(0.99)}, meter: m.reading}
	tr.fill(&res)
	return res, errors.Join(errSend, werr, merr, serr)
}

// runMemory enqueues n 100-byte messages into an empty Redis and answers
// the growth of used_memory per message in bytes.
func runMemory(ctx context.Context, e *env, sys System, queue string, n int) (runResult, error) {
	ps := payloads(n)
	runtime.GC()
	before, err := usedMemory(ctx, e.admin)
	if err != nil {
		return runResult{}, err
	}
	if err := fill(ctx, sys, queue, ps); err != nil {
		return runResult{}, err
	}
	// Let Redis shrink the idle clients' query buffers before reading.
	time.Sleep(500 * time.Millisecond)
	after, err := usedMemory(ctx, e.admin)
	if err != nil {
		return runResult{}, err
	}
	return runResult{values: []float64{float64(after-before) / float64(n)}}, nil
}

// runIdle starts a worker (concurrency 10) on an empty queue, lets it
// settle, then measures for d the CPU time of this whole process (% of one
// core), the Redis server's CPU time, and the client's round trips per
// second. Nothing else runs in the process meanwhile.
func runIdle(ctx context.Context, e *env, sys System, queue string, d time.Duration) (runResult, error) {
	w, err := sys.StartWorker(ctx, queue, 10, func([]byte) {})
	if err != nil {
		return runResult{}, err
	}
	return measureIdle(ctx, e, sys, w, d)
}

// measureIdle lets the started worker w settle, then measures for d the
// CPU time of this whole process, the Redis server's, and the client's
// round trips per second, and stops w.
func measureIdle(ctx context.Context, e *env, sys System, w Worker, d time.Duration) (runResult, error) {
	time.Sleep(time.Second)
	runtime.GC()
	m := e.meter(sys)
	if err := m.Start(ctx); err != nil {
		_ = stopWorker(w)
		return runResult{}, err
	}
	cpu0 := processCPU()
	t0 := time.Now()
	time.Sleep(d)
	cpu := processCPU() - cpu0
	wall := time.Since(t0)
	merr := m.Stop(ctx, 0)
	serr := stopWorker(w)
	res := runResult{
		values: []float64{
			100 * cpu.Seconds() / wall.Seconds(),
			100 * m.reading.redisCPU / wall.Seconds(),
			float64(m.reading.trips) / wall.Seconds(),
		},
		meter: m.reading,
	}
	return res, errors.Join(merr, serr)
}

// runIdleMany is runIdle with one worker over queues empty queues (named
// after queue).
func runIdleMany(ctx context.Context, e *env, sys System, queue string, queues int, d time.Duration) (runResult, error) {
	names := make([]string, queues)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", queue, i)
	}
	w, err := sys.StartWorkerMany(ctx, names, 10, func([]byte) {})
	if err != nil {
		return runResult{}, err
	}
	return measureIdle(ctx, e, sys, w, d)
}

// processCPU is the user plus system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
