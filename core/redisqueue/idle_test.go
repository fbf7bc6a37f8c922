package redisqueue

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// An idle worker costs about two commands a second (one BLPOP of about its
// max wait and the dequeue pipelined after it), however precise its waits
// for due messages are: it does not poll.
func TestIdleWorkerCommandRate(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t) // private: its command counts are this test's
	admin, c := srv.Client(t), srv.Client(t)
	rec := &argRecorder{}
	c.AddHook(rec)
	b := mustNew(t, c)
	w, err := core.NewWorker(core.NewQueue(b, "idle"), core.HandlerFunc(func(context.Context, *core.Message) core.Result {
		return core.Success()
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(300 * time.Millisecond) // connected and waiting
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rec.reset()
	const span = 3 * time.Second
	time.Sleep(span)
	sent, trips := rec.reset()
	info, err := admin.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls, per := commandCalls(info)
	rate := float64(sent) / span.Seconds()
	t.Logf("idle worker: %.2f commands/s sent in %.2f round trips/s; the server ran %.2f commands/s counting those in scripts (%s over %v)",
		rate, float64(trips)/span.Seconds(), float64(calls)/span.Seconds(), strings.Join(per, " "), span)
	if rate > 3 {
		t.Fatalf("idle worker sends %.2f commands/s, want about 2", rate)
	}
}

// commandCalls reads INFO commandstats: the commands the server ran (those
// in scripts too), in all and as "name=n" per command, leaving out the
// test's own INFO and CONFIG RESETSTAT.
func commandCalls(info string) (calls int, per []string) {
	for _, line := range strings.Split(info, "\r\n") {
		name, rest, ok := strings.Cut(line, ":calls=")
		if !ok || name == "cmdstat_info" || name == "cmdstat_config|resetstat" {
			continue
		}
		n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		calls += n
		per = append(per, strings.TrimPrefix(name, "cmdstat_")+"="+strconv.Itoa(n))
	}
	return calls, per
}
