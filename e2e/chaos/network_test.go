package chaos_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// netProxy is a toxiproxy between one worker process and Redis, run in
// the test process as a library.
type netProxy struct {
	t *testing.T
	p *toxiproxy.Proxy
}

var toxiServer = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())

// proxy starts a proxy to the scenario's Redis on a free loopback port;
// it is stopped when the test ends.
func (s *scenario) proxy(name string) *netProxy {
	s.t.Helper()
	p := toxiproxy.NewProxy(toxiServer, name, "127.0.0.1:0", s.redis.Addr())
	if err := p.Start(); err != nil {
		s.t.Fatalf("start proxy %s: %v", name, err)
	}
	s.t.Cleanup(p.Stop)
	return &netProxy{t: s.t, p: p}
}

func (n *netProxy) addr() string { return n.p.Listen }

// add adds a toxic on both directions; attrs is its attributes' JSON.
func (n *netProxy) add(name, typ, attrs string) {
	n.t.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		js := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name+"-"+dir, typ, dir, attrs)
		if _, err := n.p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
			n.t.Fatalf("toxic %s on %s: %v", name, n.p.Name, err)
		}
	}
}

// clear removes every toxic.
func (n *netProxy) clear() { n.p.Toxics.ResetToxics(context.Background()) }

// netScenario runs three workers, each behind its own proxy, under load,
// and calls fault with the proxies part-way through.
func netScenario(t *testing.T, name string, fault func(s *scenario, px []*netProxy)) {
	before := goleak.IgnoreCurrent()
	s := newScenario(t, name)
	var px []*netProxy
	for i := range 3 {
		p := s.proxy(fmt.Sprintf("%s-w%d", name, i+1))
		px = append(px, p)
		o := busy
		o.addr = p.addr()
		s.startWorker(o)
	}
	prod := s.startProducer(load())
	time.Sleep(time.Second)
	fault(s, px)
	s.finish(prod)
	for _, p := range px {
		p.p.Stop()
	}
	s.redis.Stop()
	_ = s.c.Close()
	// Every process has exited and Redis is down: no goroutine of the
	// proxies' listeners and links, nor of the clients, is left.
	goleak.VerifyNone(t, before)
}

// TestChaosNetLatency slows every worker's connection to Redis (50 ms
// each way, 20 ms of jitter) for a while.
func TestChaosNetLatency(t *testing.T) {
	netScenario(t, "net-latency", func(s *scenario, px []*netProxy) {
		f := s.beginFault("latency")
		for _, p := range px {
			p.add("latency", "latency", `{"latency":50,"jitter":20}`)
		}
		time.Sleep(pick(3*time.Second, 30*time.Second))
		for _, p := range px {
			p.clear()
		}
		f.finish()
	})
}

// TestChaosNetReset resets every worker connection to Redis as soon as
// it carries data (TCP RST), for a while, then lets them reconnect.
func TestChaosNetReset(t *testing.T) {
	netScenario(t, "net-reset", func(s *scenario, px []*netProxy) {
		for range pick(1, 10) {
			f := s.beginFault("reset_peer")
			for _, p := range px {
				p.add("reset", "reset_peer", `{"timeout":0}`)
			}
			time.Sleep(time.Second)
			for _, p := range px {
				p.clear()
			}
			f.finish()
			time.Sleep(time.Second)
		}
	})
}

// TestChaosNetCut cuts one worker off Redis (every byte dropped, no
// connection closed) for three times its lock: the others handle its
// messages meanwhile; when the cut heals its late acknowledgements are
// refused. The long form flaps the cut ten times.
func TestChaosNetCut(t *testing.T) {
	netScenario(t, "net-cut", func(s *scenario, px []*netProxy) {
		for range pick(1, 10) {
			f := s.beginFault("cut " + px[0].p.Name)
			px[0].add("cut", "timeout", `{"timeout":0}`)
			// What the cut worker took just before the cut is still
			// locked (for up to a lock): count it too.
			s.addLocked(f)
			time.Sleep(3 * time.Second)
			px[0].clear()
			f.finish()
			time.Sleep(2 * time.Second)
		}
	})
}
