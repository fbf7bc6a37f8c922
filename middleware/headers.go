package middleware

import (
	"context"

	"github.com/redghost/redghost/core"
)

// SetHeaders is publisher middleware that sets the headers fn answers for
// the context of a send on every message of the batch, e.g. a tenant id
// taken from the request's context. The headers it sets replace those of
// the same name. It copies each header map it changes and the batch slice,
// so the caller's requests are left as they were. fn is called once per
// send; nil or empty answers change nothing.
//
// It is also a template for publisher middleware of your own: a
// [core.PublishMiddleware] wraps a [core.Sender], whose Send takes the whole
// batch.
func SetHeaders(fn func(ctx context.Context) map[string]string) core.PublishMiddleware {
	return func(next core.Sender) core.Sender {
		return core.SenderFunc(func(ctx context.Context, reqs []core.EnqueueRequest) ([]core.EnqueueResult, error) {
			set := fn(ctx)
			if len(set) == 0 {
				return next.Send(ctx, reqs)
			}
			out := make([]core.EnqueueRequest, len(reqs))
			for i, r := range reqs {
				h := make(map[string]string, len(r.Headers)+len(set))
				for k, v := range r.Headers {
					h[k] = v
				}
				for k, v := range set {
					h[k] = v
				}
				r.Headers = h
				out[i] = r
			}
			return next.Send(ctx, out)
		})
	}
}
