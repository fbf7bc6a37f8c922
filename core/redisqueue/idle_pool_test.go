package redisqueue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// An idle pool over 50 queues blocks on one connection and costs what one
// idle worker costs: about two commands a second (one BLPOP over every
// wake list and one dequeue of one queue in turn), whatever its number of
// queues, and next to no CPU. Not parallel, so that the process's CPU time
// is the pool's.
func TestIdlePoolCommandRate(t *testing.T) {
	srv := redistest.Start(t) // private: its command counts are this test's
	admin, c := srv.Client(t), srv.Client(t)
	rec := &argRecorder{}
	c.AddHook(rec)
	b := mustNew(t, c)
	p, err := core.NewPool(b)
	if err != nil {
		t.Fatal(err)
	}
	const queues = 50
	for i := range queues {
		if err := p.HandleFunc(fmt.Sprintf("idle%02d", i), func(context.Context, *core.Message) core.Result {
			return core.Success()
		}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(1500 * time.Millisecond) // connected, first look at every queue done, waiting
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rec.reset()
	cpu0 := processCPU()
	start := time.Now()
	const span = 5 * time.Second
	time.Sleep(span)
	cpu := processCPU() - cpu0
	wall := time.Since(start)
	sent, trips := rec.reset()
	info, err := admin.Info(ctx, "commandstats", "clients").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls, per := commandCalls(info)
	blocked := -1
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
			blocked, _ = strconv.Atoi(v)
		}
	}
	rate, tripRate := float64(sent)/wall.Seconds(), float64(trips)/wall.Seconds()
	cpuPct := 100 * cpu.Seconds() / wall.Seconds()
	t.Logf("idle pool over %d queues: %.2f commands/s sent in %.2f round trips/s; the server ran %.2f commands/s counting those in scripts (%s over %v); %d blocked client(s); process CPU %.2f %% of a core",
		queues, rate, tripRate, float64(calls)/wall.Seconds(), strings.Join(per, " "), span, blocked, cpuPct)
	if rate > 3 || tripRate > 3 {
		t.Errorf("idle pool sends %.2f commands/s in %.2f round trips/s, want about 2 (one idle worker's)", rate, tripRate)
	}
	if blocked != 1 {
		t.Errorf("idle pool holds %d blocked connections, want 1", blocked)
	}
	if cpuPct > 1 {
		t.Errorf("idle pool uses %.2f %% of a core, want at most 1 %%", cpuPct)
	}
}

// processCPU is the user plus system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
