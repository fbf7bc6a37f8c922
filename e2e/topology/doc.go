// Package topology proves Red Ghost on the Redis topologies it claims to
// run on, each started from real redis-server processes on free loopback
// ports by the test that uses it:
//
//   - Redis Cluster, three masters with a replica each: queues spread over
//     every master, the conformance suite (core/queuetest) on a
//     redis.ClusterClient, and a master killed (SIGKILL) under a running
//     publisher and worker, without and with redisqueue.WithReplicaAck,
//     with the loss measured and printed, and the cost of the option.
//   - Sentinel, a primary, a replica and three sentinels: workers and a
//     publisher on redis.NewFailoverClient follow a failover.
//   - TLS and ACL: a TLS-only server reached through a rediss:// URL, and
//     a user whose ACL allows one queue's keys only.
//
// The tests print their figures (messages lost in a failover, enqueue
// rates) with t.Log; run them with -v to see them:
//
//	cd e2e && go test -v -count=1 ./topology/
package topology
