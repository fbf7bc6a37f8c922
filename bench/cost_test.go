package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redis/go-redis/v9"
)

// scriptTime answers the calls and microseconds Redis has spent in
// EVALSHA and EVAL so far (INFO commandstats).
func scriptTime(tb testing.TB, c *redis.Client) (calls, usec int64) {
	tb.Helper()
	s, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(s, "\r\n") {
		name, stats, ok := strings.Cut(line, ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		for _, f := range strings.Split(stats, ",") {
			k, v, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				calls += n
			case "usec":
				usec += n
			}
		}
	}
	return calls, usec
}

// BenchmarkScriptCost measures what Redis spends inside our scripts, per
// message and per call, for enqueue, dequeue and ack at several batch
// sizes: b.N messages are enqueued, dequeued and acknowledged in batches,
// one step after the other, and Redis's own accounting (INFO
// commandstats) is read between the steps. The figures exclude Redis's
// networking; they show a script's fixed cost (batch=1) against its
// per-message cost (batch=1000). An empty dequeue is measured too.
//
//	go test ./bench -run '^$' -bench ScriptCost -benchtime 20000x
func BenchmarkScriptCost(b *testing.B) {
	r := newRig(b)
	ctx := context.Background()
	for _, size := range []int{1, 10, 100, 1000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			q := r.fresh(b)
			c0, u0 := scriptTime(b, r.rdb)
			for i := 0; i < b.N; i += size {
				reqs := make([]core.EnqueueRequest, min(size, b.N-i))
				for j := range reqs {
					reqs[j] = core.EnqueueRequest{Queue: q, Payload: payload}
				}
				if _, err := r.pub.EnqueueBatch(ctx, reqs); err != nil {
					b.Fatal(err)
				}
			}
			c1, u1 := scriptTime(b, r.rdb)
			var got []core.Delivery
			for len(got) < b.N {
				res, err := r.b.Dequeue(ctx, core.DequeueParams{Queue: q, Max: size, Lock: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Messages) == 0 {
					b.Fatalf("dequeued %d of %d", len(got), b.N)
				}
				got = append(got, res.Messages...)
			}
			c2, u2 := scriptTime(b, r.rdb)
			for i := 0; i < len(got); i += size {
				var acks []core.Ack
				for _, d := range got[i:min(i+size, len(got))] {
					acks = append(acks, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeSuccess})
				}
				if _, err := r.b.Ack(ctx, q, acks); err != nil {
					b.Fatal(err)
				}
			}
			c3, u3 := scriptTime(b, r.rdb)
			const empties = 100
			for range empties {
				if _, err := r.b.Dequeue(ctx, core.DequeueParams{Queue: q, Max: size, Lock: time.Minute}); err != nil {
					b.Fatal(err)
				}
			}
			c4, u4 := scriptTime(b, r.rdb)

			n := float64(b.N)
			b.ReportMetric(0, "ns/op") // the timer covers setup too; meaningless here
			b.ReportMetric(float64(u1-u0)/n, "enq-us/msg")
			b.ReportMetric(float64(u2-u1)/n, "deq-us/msg")
			b.ReportMetric(float64(u3-u2)/n, "ack-us/msg")
			b.ReportMetric(float64(u1-u0)/float64(max(1, c1-c0)), "enq-us/call")
			b.ReportMetric(float64(u2-u1)/float64(max(1, c2-c1)), "deq-us/call")
			b.ReportMetric(float64(u3-u2)/float64(max(1, c3-c2)), "ack-us/call")
			b.ReportMetric(float64(u4-u3)/float64(max(1, c4-c3)), "empty-deq-us/call")
		})
	}
}

// redisCPU answers the CPU time the Redis server process has used so far,
// user and system (INFO cpu), in microseconds. Unlike commandstats' usec,
// which is time on the wall clock inside a command, it does not grow when
// Redis waits for a CPU that other processes hold.
func redisCPU(tb testing.TB, c *redis.Client) float64 {
	tb.Helper()
	info, err := c.InfoMap(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var us float64
	for _, k := range []string{"used_cpu_user", "used_cpu_sys"} {
		f, err := strconv.ParseFloat(info["CPU"][k], 64)
		if err != nil {
			tb.Fatalf("INFO cpu %s: %v", k, err)
		}
		us += f * 1e6
	}
	return us
}

// BenchmarkDrainCost measures what Redis spends per message while a worker
// at concurrency 10 drains a backlog of b.N messages (as
// BenchmarkEndToEnd/concurrency=10 does): the server process's CPU time,
// networking included (redis-cpu-us/msg), the time inside our scripts
// (script-us/msg) and the script calls per message. On a 2-core machine
// that Redis shares with the worker, redis-cpu-us/msg bounds the rate.
//
//	go test ./bench -run '^$' -bench DrainCost -benchtime 50000x -count 3
func BenchmarkDrainCost(b *testing.B) {
	r := newRig(b)
	b.StopTimer()
	q := r.fresh(b)
	r.fill(b, q, b.N)
	cpu0 := redisCPU(b, r.rdb)
	c0, u0 := scriptTime(b, r.rdb)
	b.StartTimer()
	r.drain(b, q, b.N, 10, time.Duration(b.N)*time.Millisecond+time.Minute)
	b.StopTimer()
	c1, u1 := scriptTime(b, r.rdb)
	cpu1 := redisCPU(b, r.rdb)
	n := float64(b.N)
	b.ReportMetric((cpu1-cpu0)/n, "redis-cpu-us/msg")
	b.ReportMetric(float64(u1-u0)/n, "script-us/msg")
	b.ReportMetric(float64(c1-c0)/n, "calls/msg")
}
