package bench

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// BenchmarkEndToEndPool is BenchmarkEndToEnd with the backlog spread
// evenly over 10 queues and one core.Pool (every queue at priority 1)
// handling them all: compare it with BenchmarkEndToEnd, whose worker
// handles the same backlog in one queue.
func BenchmarkEndToEndPool(b *testing.B) {
	r := newRig(b)
	const queues = 10
	for _, c := range []int{10, 100} {
		b.Run("queues=10/concurrency="+strconv.Itoa(c), func(b *testing.B) {
			b.ReportAllocs()
			b.StopTimer()
			base := r.fresh(b)
			names := make([]string, queues)
			for i := range names {
				names[i] = fmt.Sprintf("%s-%d", base, i)
				r.fill(b, names[i], (i+1)*b.N/queues-i*b.N/queues)
			}
			b.StartTimer()
			d := r.drainPool(b, names, b.N, c, time.Duration(b.N)*time.Millisecond+time.Minute)
			b.StopTimer()
			report(b, b.N, d)
		})
	}
}

// drainPool is drain with a pool over queues, which hold n messages in
// all.
func (r *rig) drainPool(tb testing.TB, queues []string, n, concurrency int, timeout time.Duration) time.Duration {
	tb.Helper()
	return timeDrain(tb, n, timeout, func(h core.Handler) (runner, error) {
		p, err := core.NewPool(r.b, core.WithConcurrency(concurrency))
		if err != nil {
			return nil, err
		}
		for _, q := range queues {
			if err := p.Handle(q, h); err != nil {
				return nil, err
			}
		}
		return p, nil
	})
}
