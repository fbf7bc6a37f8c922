package topology

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// cluster is a Redis Cluster of three masters with one replica each.
type cluster struct {
	t     testing.TB
	nodes []*redistest.Server
	cc    *redis.ClusterClient
}

// startCluster starts six nodes and joins them with redis-cli --cluster
// create. A node that misses its peers for a second is failed over.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	cli := need(t, "redis-cli")
	cl := &cluster{t: t}
	addrs := make([]string, 6)
	for i := range 6 {
		n := redistest.Start(t, redistest.WithArgs(
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // in the node's own directory
			"--cluster-node-timeout", "1000",
			// A replica fails over however long it lost its master.
			"--cluster-replica-validity-factor", "0",
		))
		cl.nodes = append(cl.nodes, n)
		addrs[i] = n.Addr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range cl.nodes {
		c := n.Client(t)
		eventually(t, 30*time.Second, n.Addr()+" in a healthy cluster", func() error {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && (!strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:6")) {
				err = fmt.Errorf("%s", info)
			}
			return err
		})
	}
	cl.waitReplicasInSync()
	cl.cc = clusterClient(addrs)
	t.Cleanup(func() { _ = cl.cc.Close() })
	return cl
}

// waitReplicasInSync waits until three nodes are replicas with their link
// up (so three are masters).
func (cl *cluster) waitReplicasInSync() {
	cl.t.Helper()
	ctx := context.Background()
	eventually(cl.t, 30*time.Second, "three replicas in sync", func() error {
		var up []string
		for _, n := range cl.nodes {
			c := redis.NewClient(&redis.Options{Addr: n.Addr()})
			v, err := infoField(ctx, c, "replication", "master_link_status")
			_ = c.Close()
			if err == nil && v == "up" {
				up = append(up, n.Addr())
			}
		}
		if len(up) != 3 {
			return fmt.Errorf("replicas in sync: %v", up)
		}
		return nil
	})
}

func (cl *cluster) node(addr string) *redistest.Server {
	for _, n := range cl.nodes {
		if n.Addr() == addr {
			return n
		}
	}
	cl.t.Fatalf("no node at %s", addr)
	return nil
}

// clusterNodes answers CLUSTER NODES as seen by the node at addr: node id
// -> its fields (id, addr, flags, master id, ...).
func clusterNodes(ctx context.Context, addr string) (map[string][]string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	out, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	nodes := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 {
			nodes[f[0]] = f
		}
	}
	return nodes, nil
}

func TestCluster(t *testing.T) {
	cl := startCluster(t)
	ctx := context.Background()
	var prefixes atomic.Int64
	newPrefix := func() string { return fmt.Sprintf("rgt%d", prefixes.Add(1)) }

	t.Run("QueuesSpreadOverEveryMaster", func(t *testing.T) {
		prefix := newPrefix()
		b := newBackend(t, cl.cc, redisqueue.WithPrefix(prefix))
		const queues = 48
		for i := range queues {
			if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: fmt.Sprintf("q%02d", i), Payload: []byte("x")}}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		perMaster := map[string]int{}
		err := cl.cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			keys, err := c.Keys(ctx, prefix+":*:msgs").Result()
			mu.Lock()
			perMaster[c.Options().Addr] = len(keys)
			mu.Unlock()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d queues per master: %v", queues, perMaster)
		total := 0
		for addr, n := range perMaster {
			if n == 0 {
				t.Errorf("master %s holds no queue", addr)
			}
			total += n
		}
		if len(perMaster) != 3 || total != queues {
			t.Fatalf("queues per master %v, want %d queues on 3 masters", perMaster, queues)
		}
		names, err := b.QueueNames(ctx)
		if err != nil || len(names) != queues {
			t.Fatalf("QueueNames over the cluster: %d names, %v", len(names), err)
		}
	})

	t.Run("Conformance", func(t *testing.T) { conformance(t, cl.cc, newPrefix) })
	if t.Failed() {
		return
	}

	// A master killed under a publisher and a worker: the replica is
	// promoted, and the cluster client follows. What the replica had not
	// received when its master died is lost, unless enqueues wait for it
	// (WithReplicaAck). On loopback a replica is hardly ever behind, so
	// the second and third runs make it lag first: the replica is stopped
	// (SIGSTOP) for a while before its master is killed.
	var figures []string
	t.Run("FailoverWithoutReplicaAck", func(t *testing.T) {
		figures = append(figures, killMaster(t, cl, newPrefix(), 0, false))
	})
	t.Run("FailoverWithoutReplicaAckLaggingReplica", func(t *testing.T) {
		figures = append(figures, killMaster(t, cl, newPrefix(), replicaLag, false))
	})
	t.Run("FailoverWithReplicaAckLaggingReplica", func(t *testing.T) {
		figures = append(figures, killMaster(t, cl, newPrefix(), replicaLag, true, redisqueue.WithReplicaAck(1, time.Second)))
	})
	t.Run("ReplicaAckCost", func(t *testing.T) {
		cl.waitReplicasInSync()
		figures = append(figures, enqueueRates(t, cl.cc, newPrefix)...)
	})
	for _, f := range figures {
		fmt.Println("topology: cluster:", f)
	}
}

// replicaLag is how long a replica is stopped before its master is killed,
// to make it miss the master's last writes.
const replicaLag = 1500 * time.Millisecond

// killMaster runs traffic on one queue and kills its master with SIGKILL,
// after holding the worker's handlers (a backlog builds up) and stopping
// the replica for lag (when lag > 0); it then waits for the
// replica's promotion, restarts the dead node (it rejoins as a replica),
// and measures what was lost.
func killMaster(t *testing.T, cl *cluster, prefix string, lag time.Duration, wantNoLoss bool, opts ...redisqueue.Option) string {
	ctx := context.Background()
	b := newBackend(t, cl.cc, append(opts, redisqueue.WithPrefix(prefix))...)
	const queue = "orders"
	tr := startTraffic(t, b, queue, 8<<10)
	tr.waitAccepted(500, 20*time.Second)

	mc, err := cl.cc.MasterForKey(ctx, prefix+":{"+queue+"}:msgs")
	if err != nil {
		t.Fatal(err)
	}
	master := cl.node(mc.Options().Addr)
	before, err := clusterNodes(ctx, master.Addr())
	if err != nil {
		t.Fatal(err)
	}
	var masterID, replicaID string
	for id, f := range before {
		if strings.Contains(f[2], "myself") {
			masterID = id
		}
	}
	for id, f := range before {
		if f[3] == masterID {
			replicaID = id
		}
	}
	if masterID == "" || replicaID == "" {
		t.Fatalf("no replica of %s in %v", master.Addr(), before)
	}
	replicaAddr, _, _ := strings.Cut(before[replicaID][1], "@")
	var survivor string
	for _, n := range cl.nodes {
		if n.Addr() != master.Addr() && n.Addr() != replicaAddr {
			survivor = n.Addr()
			break
		}
	}

	// The worker stops handling until the kill, so that the queue holds a
	// backlog (what the worker already handled cannot be lost).
	tr.hold()
	defer tr.release()
	lagFrom := time.Now()
	resume := func() {}
	if lag > 0 {
		pid := serverPID(t, replicaAddr)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		resumed := false
		resume = func() {
			if !resumed {
				resumed = true
				if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
					t.Error(err)
				}
			}
		}
		defer resume()
		time.Sleep(lag)
	}
	if lag == 0 {
		tr.waitAccepted(500, 20*time.Second) // a backlog
	}
	master.Kill()
	killedAt := time.Now() // the master is gone: it confirms nothing after this
	resume()
	tr.release()
	return promoteAndMeasure(t, tr, master, survivor, replicaID, lagFrom, killedAt, lag, wantNoLoss)
}

// promoteAndMeasure waits for replicaID's promotion (as survivor sees it),
// restarts the dead master, lets traffic go on and drains it.
func promoteAndMeasure(t *testing.T, tr *traffic, master *redistest.Server, survivor, replicaID string, lagFrom, killedAt time.Time, lag time.Duration, wantNoLoss bool) string {
	ctx := context.Background()
	restarted := false
	defer func() {
		if !restarted { // keep the cluster whole for the next test
			master.Restart(t)
		}
	}()
	eventually(t, 30*time.Second, "the replica promoted", func() error {
		nodes, err := clusterNodes(ctx, survivor)
		if err == nil && !strings.Contains(nodes[replicaID][2], "master") {
			err = fmt.Errorf("replica flags %s", nodes[replicaID][2])
		}
		return err
	})
	promoted := time.Since(killedAt)
	if !wantNoLoss {
		// Without a replica to wait for, the publisher goes on at once.
		tr.waitAccepted(500, 20*time.Second)
	}
	master.Restart(t)
	restarted = true
	waitInSync(t, master.Client(t))
	tr.waitAccepted(500, 30*time.Second)
	lost := tr.drain(3*time.Second, 30*time.Second)

	what := "master killed, without replica ack"
	if wantNoLoss {
		what = "master killed, with WithReplicaAck(1, 1s)"
	}
	if lag > 0 {
		what += fmt.Sprintf(", replica stopped %s before", lag)
	}
	line := tr.report(fmt.Sprintf("%s (replica promoted %s after the kill)", what, promoted.Round(time.Millisecond)), lost)
	for _, id := range lost {
		// Only what the primary confirmed while its replica lagged (or
		// just before it died) can be missing from the replica.
		if at := tr.acceptedAt(id); at.After(killedAt) || lagFrom.Sub(at) > time.Second {
			t.Errorf("lost %s, confirmed %s before the kill: more than the replica's lag", id, killedAt.Sub(at))
		}
	}
	if !wantNoLoss && lag > 0 && len(lost) == 0 {
		// Then the run with WithReplicaAck would prove nothing.
		t.Errorf("the replica stopped for %s before the kill missed nothing: it did not lag", lag)
	}
	if wantNoLoss && len(lost) > 0 {
		t.Errorf("WithReplicaAck lost %d confirmed messages: %v", len(lost), lost[:min(len(lost), 10)])
	}
	return line
}

// enqueueRates measures enqueue throughput on the healthy cluster with and
// without WithReplicaAck, alternately in the same run.
func enqueueRates(t *testing.T, cc *redis.ClusterClient, newPrefix func() string) []string {
	const (
		publishers = 16
		queues     = 8
		window     = 750 * time.Millisecond
	)
	rate := func(batch int, opts ...redisqueue.Option) float64 {
		b := newBackend(t, cc, append(opts, redisqueue.WithPrefix(newPrefix()))...)
		var sent atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(window)
		start := time.Now()
		for p := range publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reqs := make([]core.EnqueueRequest, batch)
				for time.Now().Before(deadline) {
					for j := range reqs {
						reqs[j] = core.EnqueueRequest{Queue: fmt.Sprintf("q%d", p%queues), Payload: []byte("0123456789abcdef")}
					}
					res, err := b.Enqueue(context.Background(), reqs)
					if err != nil {
						t.Error(err)
						return
					}
					for _, r := range res {
						if r.Err != nil {
							t.Error(r.Err)
							return
						}
					}
					sent.Add(int64(batch))
				}
			}()
		}
		wg.Wait()
		return float64(sent.Load()) / time.Since(start).Seconds()
	}
	var lines []string
	for _, batch := range []int{1, 50} {
		// Alternated, best of two each: the machine may be busy with
		// something else for a moment.
		var rates [2]float64
		for range 2 {
			rates[0] = max(rates[0], rate(batch))
			rates[1] = max(rates[1], rate(batch, redisqueue.WithReplicaAck(1, time.Second)))
		}
		line := fmt.Sprintf("enqueue, %d publishers on %d queues, %d msgs/call: %.0f msgs/s without replica ack, %.0f msgs/s with WithReplicaAck(1, 1s) (%.0f%%)",
			publishers, queues, batch, rates[0], rates[1], 100*rates[1]/rates[0])
		t.Log(line)
		lines = append(lines, line)
	}
	return lines
}

// serverPID answers the process id of the redis-server at addr.
func serverPID(t testing.TB, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	v, err := infoField(context.Background(), c, "server", "process_id")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
