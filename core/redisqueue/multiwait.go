package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

var _ core.MultiWaiter = (*Backend)(nil)

// WaitAny waits on the wake lists of every queue of p.Queues at once and
// answers the queues whose wake token it took.
//
// On a single Redis (a *redis.Client, failover included) it is one BLPOP
// over all the wake lists per step of at most a second, as [Backend.Wait]
// blocks: an idle [core.Pool] holds one blocking connection and sends
// about one command a second whatever its number of queues. On a Cluster
// the keys of one BLPOP must share a hash slot, and a queue's slot is that
// of its name (its hash tag), so WaitAny groups the queues by slot and
// blocks on one BLPOP per group at once, each on its node's connection
// pool, answering when the first is woken: a Cluster costs a blocking
// connection and a command a second per slot, which is per queue unless
// names happen to share a slot. (A Ring blocks per queue likewise.) A
// token that a BLPOP still running takes after WaitAny has answered is
// pushed back, so no wake is lost. As with Wait, the last [blockSlack] (100 ms)
// of the wait is slept here, since the server may time a BLPOP out that
// much late; a wake in that stretch is answered by the next WaitAny, at
// once. A zero timeout takes the tokens that are there without blocking:
// on a single Redis one EXISTS over every list, followed, if any holds a
// token, by a pipeline of LPOPs; on a Cluster the pipeline alone (one
// round trip per node).
func (b *Backend) WaitAny(ctx context.Context, p core.WaitAnyParams) ([]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keys := make([]string, len(p.Queues))
	byKey := make(map[string]string, len(p.Queues))
	for i, q := range p.Queues {
		keys[i] = b.dequeueKeys(q)[wakeKey]
		byKey[keys[i]] = q
	}
	deadline := time.Now().Add(p.Timeout)
	for {
		left := time.Until(deadline)
		if p.Timeout <= 0 {
			return b.popWakes(ctx, keys, byKey)
		}
		if left <= blockSlack {
			// The tail: a BLPOP would end late, so it is slept out here.
			// A token pushed meanwhile stays in its list, where the next
			// wait finds it at once: it is late by at most blockSlack,
			// never lost. (Wait reads its one list first; reading many
			// would cost a command per queue for every wait.)
			if !pause(ctx, left) {
				return nil, ctx.Err()
			}
			return nil, nil
		}
		var woken []string
		var err error
		if groups := b.blockGroups(p.Queues, keys); len(groups) == 1 {
			woken, err = b.blpopAny(ctx, keys, byKey, left-blockSlack)
		} else {
			woken, err = b.blpopEach(ctx, groups, byKey, left-blockSlack)
		}
		if err != nil || len(woken) > 0 {
			return woken, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// blpopAny is one blocking step over all of keys: one BLPOP.
func (b *Backend) blpopAny(ctx context.Context, keys []string, byKey map[string]string, d time.Duration) ([]string, error) {
	args := make([]any, 0, len(keys)+2)
	args = append(args, "blpop")
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, b.blockSecs(ctx, d))
	cmd := redis.NewStringSliceCmd(ctx, args...)
	err := b.client.Process(ctx, cmd)
	b.followFailover(ctx, err)
	switch {
	case err == nil:
		if v := cmd.Val(); len(v) == 2 {
			if q, ok := byKey[v[0]]; ok {
				return []string{q}, nil
			}
		}
		return nil, fmt.Errorf("redisqueue: wait: unexpected BLPOP reply %q", cmd.Val())
	case errors.Is(err, redis.Nil):
		return nil, nil
	default:
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("redisqueue: wait on %d queues: %w", len(keys), err)
	}
}

// blockGroups splits keys (the wake lists of queues) into the groups one
// BLPOP may wait on: all of them on a single Redis; on a Cluster those of
// one hash slot; on a Ring (or any other client) those of one queue.
func (b *Backend) blockGroups(queues, keys []string) [][]string {
	switch b.client.(type) {
	case *redis.Client:
		return [][]string{keys}
	case *redis.ClusterClient:
		bySlot := make(map[uint16]int)
		var groups [][]string
		for i, q := range queues {
			slot := clusterSlot(q) // a queue's keys are tagged with its name
			g, ok := bySlot[slot]
			if !ok {
				g = len(groups)
				bySlot[slot] = g
				groups = append(groups, nil)
			}
			groups[g] = append(groups[g], keys[i])
		}
		return groups
	default:
		groups := make([][]string, len(keys))
		for i, k := range keys {
			groups[i] = []string{k}
		}
		return groups
	}
}

// clusterSlot is the Redis Cluster hash slot of the hash tag tag: CRC16
// (XMODEM) modulo 16384.
func clusterSlot(tag string) uint16 {
	var crc uint16
	for i := 0; i < len(tag); i++ {
		crc ^= uint16(tag[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc & 16383
}

// blpopEach is one blocking step when the keys span several groups: one
// BLPOP per group at once. It answers when the first is woken or all time
// out. The BLPOPs still running go on in the background; a token one of
// them takes is pushed back, so that the next wait finds it.
func (b *Backend) blpopEach(ctx context.Context, groups [][]string, byKey map[string]string, d time.Duration) ([]string, error) {
	type answer struct {
		key string
		err error
	}
	run := context.WithoutCancel(ctx)
	answers := make(chan answer, len(groups))
	var mu sync.Mutex
	returned := false
	for _, g := range groups {
		go func() {
			args := make([]any, 0, len(g)+2)
			args = append(args, "blpop")
			for _, k := range g {
				args = append(args, k)
			}
			args = append(args, b.blockSecs(ctx, d))
			cmd := redis.NewStringSliceCmd(run, args...)
			err := b.client.Process(run, cmd)
			b.followFailover(run, err)
			key := g[0]
			if err == nil {
				if v := cmd.Val(); len(v) == 2 {
					key = v[0]
				}
			}
			mu.Lock()
			late := returned
			if !late {
				answers <- answer{key, err} // buffered for every group: never blocks
			}
			mu.Unlock()
			if late && err == nil {
				// Woken after WaitAny answered: leave the token for the
				// next wait.
				_ = b.client.RPush(run, key, 1).Err()
			}
		}()
	}
	var woken []string
	var firstErr error
	for range groups {
		a := <-answers
		switch {
		case a.err == nil:
			woken = append(woken, byKey[a.key])
		case errors.Is(a.err, redis.Nil):
		case firstErr == nil:
			firstErr = fmt.Errorf("redisqueue: wait on %q: %w", byKey[a.key], a.err)
		}
		if len(woken) > 0 {
			break
		}
	}
	mu.Lock()
	returned = true
	mu.Unlock()
	// Answers sent before returned was set are read here; later ones push
	// their token back.
	for {
		select {
		case a := <-answers:
			if a.err == nil {
				woken = append(woken, byKey[a.key])
			}
			continue
		default:
		}
		break
	}
	if len(woken) > 0 {
		return woken, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	return nil, firstErr
}

// popWakes takes the wake tokens of keys that are there, without
// blocking: one pipeline of LPOPs. On a single Redis one EXISTS over all
// the keys comes first, so that the usual answer, none, costs one
// command however many queues are asked about.
func (b *Backend) popWakes(ctx context.Context, keys []string, byKey map[string]string) ([]string, error) {
	if _, single := b.client.(*redis.Client); single && len(keys) > 1 {
		n, err := b.client.Exists(ctx, keys...).Result()
		if err != nil {
			b.followFailover(ctx, err)
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, fmt.Errorf("redisqueue: wait on %d queues: %w", len(keys), err)
		}
		if n == 0 {
			return nil, nil
		}
	}
	pipe := b.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.LPop(ctx, k)
	}
	_, _ = pipe.Exec(ctx) // each command's error is read below
	var woken []string
	for i, c := range cmds {
		err := c.Err()
		switch {
		case err == nil:
			woken = append(woken, byKey[keys[i]])
		case errors.Is(err, redis.Nil):
		default:
			b.followFailover(ctx, err)
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			if len(woken) == 0 {
				return nil, fmt.Errorf("redisqueue: wait on %q: %w", byKey[keys[i]], err)
			}
		}
	}
	return woken, nil
}
