package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/redistest"
)

// checkLockGroups checks the lock-group index of queue against the
// message headers (lua/lib.lua): every group's count is the number of
// messages grouped under its token, every such message is listed in its
// group's record, the group's score is at most its members' lock expiries,
// the total is the sum of the counts, and the due bound is at most every
// timer entry.
func checkLockGroups(t *testing.T, b *Backend, c *redis.Client, queue string) {
	t.Helper()
	ctx := context.Background()
	k := b.keys(queue)
	msgs, err := c.HGetAll(ctx, k.msgs).Result()
	if err != nil {
		t.Fatal(err)
	}
	grp, err := c.HGetAll(ctx, k.lockgrp).Result()
	if err != nil {
		t.Fatal(err)
	}
	locks, err := c.ZRangeWithScores(ctx, k.locks, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	score := map[string]float64{}
	for _, z := range locks {
		score[z.Member.(string)] = z.Score
	}
	members := map[string][]string{} // token -> grouped mids
	minExp := map[string]int64{}
	for mid, v := range msgs {
		h, err := parseHeader(v)
		if err != nil {
			t.Fatal(err)
		}
		if h.flags&flagGrouped == 0 {
			continue
		}
		if h.flags&flagDone != 0 || h.token == 0 {
			t.Fatalf("%s: grouped but done or without a token: %+v", mid, h)
		}
		tk := strconv.FormatUint(h.token, 10)
		members[tk] = append(members[tk], mid)
		if e, ok := minExp[tk]; !ok || h.lockExp < e {
			minExp[tk] = h.lockExp
		}
	}
	total := int64(0)
	for tk, mids := range members {
		n, _ := strconv.ParseInt(grp["#"+tk], 10, 64)
		if n != int64(len(mids)) {
			t.Fatalf("group %s counts %d, %d messages are grouped under it", tk, n, len(mids))
		}
		listed := map[string]bool{}
		for _, m := range strings.Split(grp[tk], "\n") {
			listed[m] = true
		}
		for _, m := range mids {
			if !listed[m] {
				t.Fatalf("%s is grouped under %s but not in its record", m, tk)
			}
		}
		s, ok := score[tk]
		if !ok || int64(s) > minExp[tk] {
			t.Fatalf("group %s scored %v (present %v), its earliest member expires at %d", tk, s, ok, minExp[tk])
		}
		total += n
	}
	for f := range grp {
		if tk, ok := strings.CutPrefix(f, "#"); ok {
			if _, live := members[tk]; !live {
				t.Fatalf("group %s has no member left but is kept", tk)
			}
		}
	}
	if len(score) != len(members) {
		t.Fatalf("%d groups in the locks set, %d with members", len(score), len(members))
	}
	n, _ := strconv.ParseInt(grp["n"], 10, 64)
	if n != total {
		t.Fatalf("locked total %d, groups count %d", n, total)
	}
	if due, err := c.Get(ctx, k.due).Int64(); err == nil {
		for _, key := range []string{k.delay, k.locks, k.done} {
			first, err := c.ZRangeWithScores(ctx, key, 0, 0).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(first) > 0 && int64(first[0].Score) < due {
				t.Fatalf("%s holds an entry due at %v, before the due bound %d", key, first[0].Score, due)
			}
		}
	} else if !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
}

// A heartbeat that extends part of a batch keeps those locked when the
// batch's group comes due; the others come back, to the head of ready,
// and the same dequeue takes them again. The stale ack of the first
// handling is refused and leaves the group of the extended one intact.
func TestLockGroupPartialExtension(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "q", "m1", "m2", "m3")
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 2, Lock: 100 * time.Millisecond})
	if err != nil || len(res.Messages) != 2 {
		t.Fatalf("dequeue: %v %d", err, len(res.Messages))
	}
	d1, d2 := res.Messages[0], res.Messages[1]
	if errs, err := b.ExtendLocks(ctx, "q", []core.LockRef{{ID: "m2", Token: d2.Token, Duration: 400 * time.Millisecond}}); err != nil || errs[0] != nil {
		t.Fatalf("extend: %v %v", err, errs)
	}
	checkLockGroups(t, b, c, "q")
	if s, _ := b.QueueStats(ctx, "q"); s.Locked != 2 {
		t.Fatalf("stats %+v, want 2 locked", s)
	}
	time.Sleep(150 * time.Millisecond)
	// m1's lock expired: back to the head of ready, ahead of m3.
	again := take(t, b, "q", 1)
	if len(again) != 1 || again[0].ID != "m1" || again[0].Attempt != 2 {
		t.Fatalf("took %v, want m1 again, ahead of m3", idsOf(again))
	}
	checkLockGroups(t, b, c, "q")
	if st, _ := b.MessageStatus(ctx, "q", "m2"); st != core.StatusLocked {
		t.Fatalf("m2 is %v, want locked", st)
	}
	// The late ack of m1's first handling is fenced off.
	if errs, err := b.Ack(ctx, "q", []core.Ack{{ID: "m1", Token: d1.Token}}); err != nil || !errors.Is(errs[0], core.ErrLockLost) {
		t.Fatalf("late ack: %v %v, want lock lost", err, errs)
	}
	if errs, err := b.Ack(ctx, "q", []core.Ack{{ID: "m1", Token: again[0].Token}}); err != nil || errs[0] != nil {
		t.Fatalf("ack of m1's second handling: %v %v", err, errs)
	}
	checkLockGroups(t, b, c, "q")
	if s, _ := b.QueueStats(ctx, "q"); s.Locked != 1 || s.Total != 2 {
		t.Fatalf("stats %+v, want m2 locked and m3 queued", s)
	}
	time.Sleep(300 * time.Millisecond)
	// m2's extended lock expired too: it comes back, attempt 2, ahead of m3.
	ds := take(t, b, "q", 10)
	if got := idsOf(ds); len(ds) != 2 || got[0] != "m2" || got[1] != "m3" || ds[0].Attempt != 2 {
		t.Fatalf("took %v, want m2 again, then m3", got)
	}
	checkLockGroups(t, b, c, "q")
	if errs, _ := b.Ack(ctx, "q", []core.Ack{{ID: "m2", Token: d2.Token}}); !errors.Is(errs[0], core.ErrLockLost) {
		t.Fatalf("stale ack of m2: %v", errs[0])
	}
}

// A message extended after its group came due (it went back to ready)
// is locked again when a dequeue meets it, and indexed again: if its
// handler dies, it still comes back.
func TestLockGroupRejoin(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "q", "m0", "m1")
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 2, Lock: 50 * time.Millisecond})
	if err != nil || len(res.Messages) != 2 {
		t.Fatal(err)
	}
	d1 := res.Messages[1]
	time.Sleep(80 * time.Millisecond)
	// Processes the group (m0 and m1 back to the head of ready, in order)
	// and takes m0 alone: m1 waits in ready.
	if got := take(t, b, "q", 1); len(got) != 1 || got[0].ID != "m0" {
		t.Fatalf("took %v, want m0", idsOf(got))
	}
	// The heartbeat of m1's handler, late: still its lock (nobody took it).
	if errs, err := b.ExtendLocks(ctx, "q", []core.LockRef{{ID: "m1", Token: d1.Token, Duration: 150 * time.Millisecond}}); err != nil || errs[0] != nil {
		t.Fatalf("extend: %v %v", err, errs)
	}
	// The next dequeue meets m1 in ready, locked: it rejoins its group.
	if got := take(t, b, "q", 10); len(got) != 0 {
		t.Fatalf("took %v while m1 is locked", idsOf(got))
	}
	checkLockGroups(t, b, c, "q")
	if s, _ := b.QueueStats(ctx, "q"); s.Locked != 2 {
		t.Fatalf("stats %+v, want 2 locked", s)
	}
	time.Sleep(200 * time.Millisecond)
	got := take(t, b, "q", 10)
	if len(got) != 1 || got[0].ID != "m1" || got[0].Attempt != 2 {
		t.Fatalf("took %v, want m1 again", idsOf(got))
	}
	checkLockGroups(t, b, c, "q")
}

// Random operations on one queue keep the lock-group index exact.
func TestLockGroupInvariantRandom(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			lockGroupRandom(t, seed)
		})
	}
}

func lockGroupRandom(t *testing.T, seed uint64) {
	b, c, _ := newEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 2))
	var held []core.Delivery
	for step := range 300 {
		switch op := rng.IntN(10); {
		case op < 3:
			var reqs []core.EnqueueRequest
			for range 1 + rng.IntN(5) {
				r := core.EnqueueRequest{Queue: "q", ID: fmt.Sprintf("m%d", rng.IntN(40)), Payload: []byte("x")}
				switch rng.IntN(6) {
				case 0:
					r.Delay = time.Duration(rng.IntN(30)) * time.Millisecond
				case 1:
					r.CanRequeue = true
				case 2:
					r.CanUpdate, r.ResetDelay = true, true
				case 3:
					r.LockDuration = time.Duration(10+rng.IntN(30)) * time.Millisecond
				}
				reqs = append(reqs, r)
			}
			if _, err := b.Enqueue(ctx, reqs); err != nil {
				t.Fatal(err)
			}
		case op < 6:
			res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1 + rng.IntN(5), Lock: time.Duration(5+rng.IntN(40)) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, res.Messages...)
		case op < 8 && len(held) > 0:
			var acks []core.Ack
			for range 1 + rng.IntN(len(held)) {
				i := rng.IntN(len(held))
				d := held[i]
				held = append(held[:i], held[i+1:]...)
				acks = append(acks, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.Outcome(rng.IntN(3)),
					Backoff: time.Duration(rng.IntN(2)*rng.IntN(30)) * time.Millisecond, Error: "e"})
			}
			if _, err := b.Ack(ctx, "q", acks); err != nil {
				t.Fatal(err)
			}
		case op < 9 && len(held) > 0:
			var refs []core.LockRef
			for _, d := range held {
				if rng.IntN(2) == 0 {
					refs = append(refs, core.LockRef{ID: d.ID, Token: d.Token, Duration: time.Duration(5+rng.IntN(40)) * time.Millisecond})
				}
			}
			if _, err := b.ExtendLocks(ctx, "q", refs); err != nil {
				t.Fatal(err)
			}
		default:
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		}
		if t.Failed() {
			t.Fatalf("step %d", step)
		}
		checkLockGroups(t, b, c, "q")
	}
	// Everything comes back once its lock expires; ack it all.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 100, Lock: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var acks []core.Ack
		for _, d := range res.Messages {
			acks = append(acks, core.Ack{ID: d.ID, Token: d.Token})
		}
		if len(acks) > 0 {
			if _, err := b.Ack(ctx, "q", acks); err != nil {
				t.Fatal(err)
			}
		}
		s, err := b.QueueStats(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		if s.Total == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue never drained: %+v\n%s", s, redistest.Dump(t, c, b.cfg.prefix))
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkLockGroups(t, b, c, "q")
	if n, _ := c.Exists(ctx, b.keys("q").locks, b.keys("q").lockgrp).Result(); n != 1 { // "n" = 0 stays
		if v := c.HGetAll(ctx, b.keys("q").lockgrp).Val(); len(v) != 1 || v["n"] != "0" {
			t.Fatalf("lock index left behind: %v", v)
		}
	}
}
