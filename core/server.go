package core

import "context"

// ServerAddresser is implemented, optionally, by a backend that knows the
// address of the server its messages live on, for telemetry (the
// OpenTelemetry server.address and server.port attributes). host is a
// host name, an IP address or a Unix socket path; "" means unknown. port
// is 0 when there is none (a Unix socket) or it is unknown.
//
// A [Publisher] puts its backend's address in the context of every send,
// where middleware reads it with [ServerFromContext].
type ServerAddresser interface {
	ServerAddress() (host string, port int)
}

type serverKey struct{}

type serverAddr struct {
	host string
	port int
}

// ContextWithServer returns a copy of ctx that names the server address,
// as a publisher does for its backend. An empty host names none.
func ContextWithServer(ctx context.Context, host string, port int) context.Context {
	if host == "" {
		return ctx
	}
	return context.WithValue(ctx, serverKey{}, &serverAddr{host, port})
}

// ServerFromContext is the server address named in ctx; ok is false if
// none was named.
func ServerFromContext(ctx context.Context) (host string, port int, ok bool) {
	a, ok := ctx.Value(serverKey{}).(*serverAddr)
	if !ok {
		return "", 0, false
	}
	return a.host, a.port, true
}

// withServerSender names b's server address in the context of every send
// through s, if b says one. The address is asked once.
func withServerSender(s Sender, b Backend) Sender {
	n, ok := b.(ServerAddresser)
	if !ok {
		return s
	}
	host, port := n.ServerAddress()
	if host == "" {
		return s
	}
	addr := &serverAddr{host, port}
	return SenderFunc(func(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
		return s.Send(context.WithValue(ctx, serverKey{}, addr), reqs)
	})
}
