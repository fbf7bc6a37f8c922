package core

import "context"

// SystemNamer is implemented by a backend that names the messaging system
// its messages live in, for telemetry (the OpenTelemetry messaging.system
// attribute): "redis" for redisqueue, "memory" for memqueue.
//
// A [Worker] puts its backend's name in the context of every handling, and a
// [Publisher] in the context of every send, where middleware reads it with
// [SystemFromContext].
type SystemNamer interface {
	System() string
}

type systemKey struct{}

// ContextWithSystem returns a copy of ctx that names the messaging system,
// as a worker or publisher does for its backend. Tests that call a handler
// or sender directly use it to stand in for them.
func ContextWithSystem(ctx context.Context, system string) context.Context {
	return context.WithValue(ctx, systemKey{}, system)
}

// SystemFromContext is the messaging system named in ctx: the backend's, in
// a worker's handling or a publisher's send; "" if none was named.
func SystemFromContext(ctx context.Context) string {
	s, _ := ctx.Value(systemKey{}).(string)
	return s
}

// backendSystem is b's system name, or "" if b does not say one.
func backendSystem(b Backend) string {
	if n, ok := b.(SystemNamer); ok {
		return n.System()
	}
	return ""
}

// withBackendSystem names b's system in ctx, if b says one.
func withBackendSystem(ctx context.Context, b Backend) context.Context {
	if s := backendSystem(b); s != "" {
		return ContextWithSystem(ctx, s)
	}
	return ctx
}

// withSystemSender names b's system in the context of every send through s.
func withSystemSender(s Sender, b Backend) Sender {
	sys := backendSystem(b)
	if sys == "" {
		return s
	}
	var val any = sys // boxed once here, not at every send
	return SenderFunc(func(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
		return s.Send(context.WithValue(ctx, systemKey{}, val), reqs)
	})
}
