package topology

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
)

// queueACL is the ACL rule that allows a user everything the backend does
// on one queue (every key of a queue is under "<prefix>:{<queue>}:") and
// nothing else: commands inside the scripts are checked against it too
// (the scripts read the server clock with TIME, which no category above
// holds).
func queueACL(prefix, queue string) []string {
	return []string{"resetkeys", "~" + prefix + ":{" + queue + "}:*", "resetchannels",
		"-@all", "+@connection", "+@read", "+@write", "+@scripting", "+@blocking", "+@transaction", "+time", "-@dangerous"}
}

// A TLS-only redis-server (no plain port) with certificates made here,
// reached through a rediss:// URL and the CA: the conformance suite passes
// on it. A user whose ACL allows one queue works on it end to end and gets
// NOPERM, as a clear error, on any other.
func TestTLSAndACL(t *testing.T) {
	need(t, "redis-server")
	dir := t.TempDir()
	pool := writeCerts(t, dir)
	tlsPing := func(addr string) error {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, TLSConfig: &tls.Config{RootCAs: pool}})
		defer c.Close()
		return c.Ping(context.Background()).Err()
	}
	srv := startProc(t, func(port int) []string {
		return []string{
			"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", filepath.Join(dir, "server.crt"),
			"--tls-key-file", filepath.Join(dir, "server.key"),
			"--tls-ca-cert-file", filepath.Join(dir, "ca.crt"),
			"--tls-auth-clients", "no",
			"--dir", dir, "--save", "", "--appendonly", "no",
		}
	}, tlsPing)
	ctx := context.Background()

	// Nothing answers in plain text.
	if err := ping(srv.addr); err == nil {
		t.Fatal("the TLS port answered a plain PING")
	}

	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	connect := func(t *testing.T, url string) *redis.Client {
		c, err := tlsClient(url, caPEM)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	admin := connect(t, "rediss://"+srv.addr+"/0")

	t.Run("Conformance", func(t *testing.T) {
		var prefixes atomic.Int64
		conformance(t, admin, func() string { return fmt.Sprintf("rgt%d", prefixes.Add(1)) })
	})

	t.Run("ACLOneQueue", func(t *testing.T) {
		rule := append([]string{"acl", "setuser", "orders", "reset", "on", ">s3cret"}, queueACL(redisqueue.DefaultPrefix, "orders")...)
		args := make([]any, len(rule))
		for i, r := range rule {
			args[i] = r
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
		c := connect(t, "rediss://orders:s3cret@"+srv.addr+"/0")
		b := newBackend(t, c)

		// End to end on its queue: publish, handle, ack, inspect, clear.
		const n = 200
		handled := make(chan string, n)
		w := newWorker(t, b, "orders", func(ctx context.Context, m *core.Message) core.Result {
			handled <- m.ID
			return core.Success()
		})
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		pub := core.NewPublisher(b)
		for i := range n {
			if _, err := pub.Enqueue(ctx, "orders", []byte("x"), core.WithID(fmt.Sprintf("o%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		for len(seen) < n {
			select {
			case id := <-handled:
				seen[id] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("handled %d of %d", len(seen), n)
			}
		}
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := w.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		if st := w.Stats(); st.BackendErrors != 0 {
			t.Fatalf("the worker met %d backend errors on its own queue", st.BackendErrors)
		}
		if _, err := b.QueueStats(ctx, "orders"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.DeadLetters(ctx, "orders", 0, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PurgeDeadLetters(ctx, "orders"); err != nil {
			t.Fatal(err)
		}
		if err := b.ClearQueues(ctx, "orders"); err != nil {
			t.Fatal(err)
		}

		// Any other queue: NOPERM, saying which queue and what was refused.
		_, err := pub.Enqueue(ctx, "payments", []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), `"payments"`) {
			t.Fatalf("enqueue to another queue: %v, want NOPERM naming the queue", err)
		}
		t.Logf("enqueue to a queue the ACL does not allow: %v", err)
		if _, err := b.Dequeue(ctx, core.DequeueParams{Queue: "payments", Max: 1, Lock: time.Minute}); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Fatalf("dequeue from another queue: %v, want NOPERM", err)
		}
		var rerr redis.Error
		if !errors.As(err, &rerr) {
			t.Fatalf("the NOPERM error does not unwrap to the server's reply: %T", err)
		}
		if err := c.FlushAll(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Fatalf("FLUSHALL by the queue's user: %v, want NOPERM", err)
		}
		if n, err := admin.Exists(ctx, "rg:{payments}:msgs").Result(); err != nil || n != 0 {
			t.Fatalf("the refused enqueue wrote something: %d %v", n, err)
		}
	})
}

// writeCerts writes ca.crt, server.crt and server.key (for 127.0.0.1) into
// dir and answers a pool holding the CA.
func writeCerts(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Red Ghost test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey := newKey()
	srvDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write("server.crt", "CERTIFICATE", srvDER)
	write("server.key", "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}
