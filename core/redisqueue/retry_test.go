package redisqueue_test

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// dropProxy forwards TCP between clients and a Redis server. Armed with a
// string, it forwards the first request that holds it, lets the server
// apply it, then drops the connection instead of forwarding the answer: a
// network fault after the server ran the command.
type dropProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Pointer[[]byte]
	drops  atomic.Int32
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startDropProxy(t *testing.T, target string) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *dropProxy) arm(s string) { b := []byte(s); p.armed.Store(&b) }

func (p *dropProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *dropProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.track(client)
		p.track(server)
		var drop atomic.Bool
		p.wg.Add(2)
		go func() { // server -> client
			defer p.wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if err != nil || drop.Load() {
					client.Close()
					server.Close()
					return
				}
				if _, err := client.Write(buf[:n]); err != nil {
					server.Close()
					return
				}
			}
		}()
		go func() { // client -> server
			defer p.wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := client.Read(buf)
				if err != nil {
					server.Close()
					return
				}
				if a := p.armed.Load(); a != nil && bytes.Contains(buf[:n], *a) && p.armed.CompareAndSwap(a, nil) {
					drop.Store(true) // before the server can answer
					p.drops.Add(1)
				}
				if _, err := server.Write(buf[:n]); err != nil {
					client.Close()
					return
				}
			}
		}()
	}
}

// go-redis retries a script call whose connection dropped after Redis
// applied it. The retried enqueue answers what the applied run answered,
// not a refusal for the state that run left, and applies nothing twice.
func TestRetriedEnqueueAnswersFirstAnswer(t *testing.T) {
	srv := redistest.Start(t)
	proxy := startDropProxy(t, srv.Addr())
	client := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String()}) // retries by default
	t.Cleanup(func() { client.Close() })
	b := newBackend(t, client)
	ctx := context.Background()
	const queue = "retry"
	enqueue := func(reqs ...core.EnqueueRequest) []core.EnqueueResult {
		t.Helper()
		res, err := b.Enqueue(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	enqueue(core.EnqueueRequest{Queue: queue, ID: "warm", Payload: []byte("w")}) // loads the script

	// The fast path: one plain message.
	proxy.arm("once-1")
	res := enqueue(core.EnqueueRequest{Queue: queue, ID: "once-1", Payload: []byte("x")})
	if proxy.drops.Load() != 1 {
		t.Fatalf("the proxy dropped %d connections, want 1", proxy.drops.Load())
	}
	if res[0].Err != nil || res[0].Action != core.Added {
		t.Errorf("retried enqueue of a fresh id answered %+v, want added", res[0])
	}

	// The general path: delayed messages, answered one code each.
	proxy.arm("once-2")
	res = enqueue(core.EnqueueRequest{Queue: queue, ID: "once-2", Payload: []byte("x"), Delay: time.Hour},
		core.EnqueueRequest{Queue: queue, ID: "once-3", Payload: []byte("x"), Delay: time.Hour})
	if proxy.drops.Load() != 2 {
		t.Fatalf("the proxy dropped %d connections, want 2", proxy.drops.Load())
	}
	for _, r := range res {
		if r.Err != nil || r.Action != core.Added {
			t.Errorf("retried enqueue answered %+v for %s, want added", r, r.ID)
		}
	}

	st, err := b.QueueStats(ctx, queue)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 4 || st.Queued != 2 {
		t.Errorf("queue %+v, want 4 messages, 2 ready", st)
	}
	// Nothing is queued twice.
	if n, err := srv.Client(t).LLen(ctx, "rg:{"+queue+"}:ready").Result(); err != nil || n != 2 {
		t.Errorf("ready holds %d ids (%v), want 2", n, err)
	}
}

// A client that never retries gets no request keys.
func TestNoRequestKeysWithoutRetries(t *testing.T) {
	srv := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	b := newBackend(t, client)
	ctx := context.Background()
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, "*:req:*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("request keys %q (%v), want none", keys, err)
	}
	// With retries, one key per call, with a TTL.
	b2 := newBackend(t, srv.Client(t))
	if _, err := b2.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", Payload: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	keys, err = client.Keys(ctx, "*:req:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("request keys %q (%v), want one", keys, err)
	}
	if ttl, err := client.TTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("request key TTL %v (%v), want at most a minute", ttl, err)
	}
}
