package middleware

import "github.com/redghost/redghost/core"

// Chain composes handler middleware into one. The first is outermost: it
// sees the message first and the result last, so
//
//	Chain(a, b, c)(h) == a(b(c(h)))
//
// Build the chain once, when the worker is built, not per message. Nil
// entries are skipped.
func Chain(mws ...core.Middleware) core.Middleware {
	mws = append([]core.Middleware(nil), mws...)
	return func(h core.Handler) core.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			if mws[i] != nil {
				h = mws[i](h)
			}
		}
		return h
	}
}

// ChainPublish composes publisher middleware into one, in the same order
// as [Chain]: the first is outermost, it sees the requests first and the
// results last. [core.WithPublishMiddleware] takes the same order, so
//
//	core.NewPublisher(b, core.WithPublishMiddleware(ChainPublish(a, b)))
//
// is core.NewPublisher(b, core.WithPublishMiddleware(a, b)). Nil entries are
// skipped.
func ChainPublish(mws ...core.PublishMiddleware) core.PublishMiddleware {
	mws = append([]core.PublishMiddleware(nil), mws...)
	return func(s core.Sender) core.Sender {
		for i := len(mws) - 1; i >= 0; i-- {
			if mws[i] != nil {
				s = mws[i](s)
			}
		}
		return s
	}
}
