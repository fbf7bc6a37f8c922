package topology

import (
	"crypto/x509"
	"errors"

	"github.com/redis/go-redis/v9"
)

// The README's snippets on topologies, each used by a test of this package
// (so they compile and work). With a client from these, make the backend
// as usual: redisqueue.New(client, opts...).

// clusterClient is a client of a Redis Cluster. The backend keeps every
// key of a queue under one hash tag, so queues spread over the masters.
func clusterClient(addrs []string) *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
}

// sentinelClient is a client of the primary that the sentinels at addrs
// monitor as master; it follows their failovers.
func sentinelClient(master string, addrs []string) *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    master,
		SentinelAddrs: addrs,
	})
}

// tlsClient is a client for a rediss:// URL (user and password in it, for
// an ACL user) that trusts the CA certificates in caPEM.
func tlsClient(url string, caPEM []byte) (*redis.Client, error) {
	opts, err := redis.ParseURL(url) // rediss://user:password@host:port/0
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in the CA file")
	}
	opts.TLSConfig.RootCAs = pool // ParseURL set TLSConfig for rediss://
	return redis.NewClient(opts), nil
}
