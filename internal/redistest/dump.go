package redistest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Dump is a canonical text of every key under prefix (on every master of
// a cluster): keys sorted, each with its type and full contents (hash
// fields sorted, lists in order, sorted sets with scores in order). Two
// dumps of an unchanged store are equal, so a test can prove that a
// refused call wrote nothing (queuetest's Env.Dump).
func Dump(t testing.TB, c redis.UniversalClient, prefix string) string {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		it := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	} else {
		err = scan(ctx, c)
	}
	if err != nil {
		t.Fatalf("dump: scan: %v", err)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var b strings.Builder
	// read fails t on a read error: a dump that dropped what it could not
	// read would let two different stores compare equal. A key that
	// expired since the scan reads as missing (redis.Nil), not an error.
	read := func(k string, err error) {
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("dump: read %s: %v", k, err)
		}
	}
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatalf("dump: type of %s: %v", k, err)
		}
		fmt.Fprintf(&b, "%q %s\n", k, typ)
		switch typ {
		case "string":
			v, err := c.Get(ctx, k).Result()
			read(k, err)
			fmt.Fprintf(&b, "\t%q\n", v)
		case "hash":
			h, err := c.HGetAll(ctx, k).Result()
			read(k, err)
			for _, f := range slices.Sorted(maps.Keys(h)) {
				fmt.Fprintf(&b, "\t%q = %q\n", f, h[f])
			}
		case "list":
			vs, err := c.LRange(ctx, k, 0, -1).Result()
			read(k, err)
			for _, v := range vs {
				fmt.Fprintf(&b, "\t%q\n", v)
			}
		case "zset":
			zs, err := c.ZRangeWithScores(ctx, k, 0, -1).Result()
			read(k, err)
			for _, z := range zs {
				fmt.Fprintf(&b, "\t%q %v\n", z.Member, z.Score)
			}
		default:
			fmt.Fprintf(&b, "\tunexpected type\n")
		}
	}
	return b.String()
}
