package redisqueue

import (
	"net"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

var _ core.ServerAddresser = (*Backend)(nil)

// ServerAddress is the address of the Redis server of the backend's client,
// for telemetry (server.address and server.port, see
// [core.ServerAddresser]): a plain client's address, or its socket path
// with port 0; a cluster client's first seed address. A failover client
// (whose master changes) and a ring name none: "" and 0.
func (b *Backend) ServerAddress() (host string, port int) {
	var network, addr string
	switch c := b.client.(type) {
	case *redis.Client:
		o := c.Options()
		network, addr = o.Network, o.Addr
		if addr == "FailoverClient" { // go-redis's name for a failover client's dialer
			return "", 0
		}
	case *redis.ClusterClient:
		if a := c.Options().Addrs; len(a) > 0 {
			addr = a[0]
		}
	}
	if addr == "" {
		return "", 0
	}
	if network == "unix" {
		return addr, 0
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		return h, 0
	}
	return h, port
}
