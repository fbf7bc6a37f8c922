package redistest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartCluster starts a one-node Redis Cluster that owns every slot and
// answers the server and a ClusterClient of it, closed when the test ends.
// The client routes each command by its keys' slot as on a real cluster,
// and Redis refuses declared keys of two slots (CROSSSLOT).
func StartCluster(t testing.TB, opts ...Option) (*Server, *redis.ClusterClient) {
	t.Helper()
	opts = append(opts, WithArgs("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"))
	srv := Start(t, opts...)
	ctx := context.Background()
	admin := srv.Client(t)
	if err := admin.Do(ctx, "cluster", "addslotsrange", 0, 16383).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, err := admin.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not ok: %v %s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { _ = cc.Close() })
	return srv, cc
}
