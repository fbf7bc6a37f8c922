package redisqueue

import "testing"

// clusterSlot agrees with the slots Redis Cluster documents and go-redis
// computes (CLUSTER KEYSLOT).
func TestClusterSlot(t *testing.T) {
	for tag, want := range map[string]uint16{"": 0, "foo": 12182, "bar": 5061, "123456789": 12739, "user1000": 3443} {
		if got := clusterSlot(tag); got != want {
			t.Errorf("clusterSlot(%q) = %d, want %d", tag, got, want)
		}
	}
}
