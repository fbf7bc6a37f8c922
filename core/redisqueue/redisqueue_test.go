package redisqueue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/internal/redistest"
)

func TestMain(m *testing.M) {
	redistest.Main(m)
}

var prefixes atomic.Int64

// newEnv makes a backend on the package's shared server with a key prefix
// of its own, so that parallel tests never see each other's keys.
func newEnv(t testing.TB, opts ...Option) (*Backend, *redis.Client, string) {
	t.Helper()
	srv := redistest.Shared(t)
	c := srv.Client(t)
	prefix := fmt.Sprintf("rgt%d", prefixes.Add(1))
	return mustNew(t, c, append([]Option{WithPrefix(prefix)}, opts...)...), c, prefix
}

// mustNew is New for options a test knows are valid.
func mustNew(t testing.TB, c redis.UniversalClient, opts ...Option) *Backend {
	t.Helper()
	b, err := New(c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true, MultiWait: true}, New: func(t *testing.T) queuetest.Env {
		b, c, prefix := newEnv(t)
		return queuetest.Env{
			Backend: b,
			Advance: time.Sleep,
			Dump:    func() string { return dump(t, c, prefix) },
		}
	}})
}

// dump is a canonical text of every key under prefix: keys sorted, each
// with its type and full contents (hash fields sorted, lists in order,
// sorted sets with scores in order).
func dump(t testing.TB, c *redis.Client, prefix string) string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	it := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Fatalf("dump: scan: %v", err)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var b strings.Builder
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("dump: type of %s: %v", k, err)
		}
		fmt.Fprintf(&b, "%q %s\n", k, typ)
		switch typ {
		case "string":
			fmt.Fprintf(&b, "\t%q\n", c.Get(ctx, k).Val())
		case "hash":
			h := c.HGetAll(ctx, k).Val()
			fields := make([]string, 0, len(h))
			for f := range h {
				fields = append(fields, f)
			}
			slices.Sort(fields)
			for _, f := range fields {
				fmt.Fprintf(&b, "\t%q = %q\n", f, h[f])
			}
		case "list":
			for _, v := range c.LRange(ctx, k, 0, -1).Val() {
				fmt.Fprintf(&b, "\t%q\n", v)
			}
		case "zset":
			for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
				fmt.Fprintf(&b, "\t%q %v\n", z.Member, z.Score)
			}
		default:
			fmt.Fprintf(&b, "\tunexpected type\n")
		}
	}
	return b.String()
}
