package middleware

import (
	"context"
	"sync/atomic"
)

// AttemptReport is where [Retry] tells the middleware outside it which
// attempt it counted for a handling: the backend's delivery count
// ([core.Message.Attempt]) minus the breaker's rejections Retry remembers.
// Tracing and [Logging] show it next to the delivery count, so that a span,
// a log line and an [*ExhaustedError] name the same attempt.
type AttemptReport struct {
	context.Context
	n atomic.Int64
}

type attemptReportKey struct{}

// Value answers the report itself for its key, and asks the parent
// otherwise; one allocation holds both the context and the report.
func (r *AttemptReport) Value(key any) any {
	if key == (attemptReportKey{}) {
		return r
	}
	return r.Context.Value(key)
}

// WithAttemptReport returns a context under which a [Retry] reports the
// attempt it counts, and the report to read it from once the handling is
// done. If ctx carries a report already (a middleware further out asked
// first), that one is shared and ctx is returned as it is.
func WithAttemptReport(ctx context.Context) (context.Context, *AttemptReport) {
	if r, ok := ctx.Value(attemptReportKey{}).(*AttemptReport); ok {
		return ctx, r
	}
	r := &AttemptReport{Context: ctx}
	return r, r
}

// HandlerAttempt is the attempt Retry counted for the handling (breaker
// rejections excluded), or 0 if no Retry has seen it.
func (r *AttemptReport) HandlerAttempt() int {
	if r == nil {
		return 0
	}
	return int(r.n.Load())
}

// reportAttempt records n in ctx's report, if it has one.
func reportAttempt(ctx context.Context, n int) {
	if r, ok := ctx.Value(attemptReportKey{}).(*AttemptReport); ok {
		r.n.Store(int64(n))
	}
}
