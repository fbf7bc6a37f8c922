package redisqueue_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core/redisqueue"
)

func TestServerAddress(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client redis.UniversalClient
		host   string
		port   int
	}{
		{"tcp", redis.NewClient(&redis.Options{Addr: "10.0.0.5:6380"}), "10.0.0.5", 6380},
		{"ipv6", redis.NewClient(&redis.Options{Addr: "[::1]:6379"}), "::1", 6379},
		{"unix", redis.NewClient(&redis.Options{Network: "unix", Addr: "/run/redis.sock"}), "/run/redis.sock", 0},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"node-a:7000", "node-b:7001"}}), "node-a", 7000},
		{"failover", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"s:26379"}}), "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { _ = tc.client.Close() })
			b, err := redisqueue.New(tc.client)
			if err != nil {
				t.Fatal(err)
			}
			if host, port := b.ServerAddress(); host != tc.host || port != tc.port {
				t.Errorf("ServerAddress() = %q, %d; want %q, %d", host, port, tc.host, tc.port)
			}
		})
	}
}
