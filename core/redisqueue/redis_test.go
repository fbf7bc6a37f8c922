package redisqueue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/internal/redistest"
)

// enqueue enqueues payloads under ids (id = payload) and fails t unless
// all were added.
func enqueue(t *testing.T, b *Backend, queue string, ids ...string) {
	t.Helper()
	reqs := make([]core.EnqueueRequest, len(ids))
	for i, id := range ids {
		reqs[i] = core.EnqueueRequest{Queue: queue, ID: id, Payload: []byte(id)}
	}
	res, err := b.Enqueue(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.Action != core.Added {
			t.Fatalf("enqueue of %s: %v %v", r.ID, r.Action, r.Err)
		}
	}
}

func take(t *testing.T, b *Backend, queue string, max int) []core.Delivery {
	t.Helper()
	res, err := b.Dequeue(context.Background(), core.DequeueParams{Queue: queue, Max: max, Lock: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return res.Messages
}

// crc16 is the CRC16-XMODEM that Redis Cluster hashes keys with.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keySlot is Redis Cluster's slot of key (hash tags included).
func keySlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % 16384
}

func TestKeySlot(t *testing.T) {
	t.Parallel()
	// Reference values from Redis's CLUSTER KEYSLOT.
	for key, want := range map[string]uint16{"foo": 12182, "{user1000}.following": 3443, "123456789": 12739} {
		if got := keySlot(key); got != want {
			t.Fatalf("keySlot(%q) = %d, want %d", key, got, want)
		}
	}
}

// Every key a queue ever gets shares the queue's slot, and the key
// builder lists every key that exists.
func TestKeysShareOneSlot(t *testing.T) {
	t.Parallel()
	b, c, prefix := newEnv(t)
	ctx := context.Background()
	for _, queue := range []string{"q", "q:with:colons", "ünïcödé queue", "a*b?[c]"} {
		enqueue(t, b, queue, "a", "b", "c", "d")
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: "delayed", Delay: time.Minute}}); err != nil {
			t.Fatal(err)
		}
		ds := take(t, b, queue, 3)
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: ds[2].ID, CanRequeue: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Ack(ctx, queue, []core.Ack{
			{ID: ds[0].ID, Token: ds[0].Token, Outcome: core.OutcomeError, Error: "x"},
			{ID: ds[1].ID, Token: ds[1].Token, Outcome: core.OutcomeSuccess, Backoff: time.Minute},
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.Wait(ctx, queue, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		_ = b.Wait(ctx, queue, time.Millisecond)
		enqueue(t, b, queue, "e") // leaves a wake token

		built := map[string]bool{}
		for _, k := range b.keys(queue).all() {
			built[k] = true
		}
		built[b.epochKey(queue)] = true // outlives ClearQueues on purpose (health.go)
		want := keySlot("{" + queue + "}")
		keys, err := c.Keys(ctx, globEscape(prefix+":{"+queue+"}")+":*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) < 9 {
			t.Fatalf("queue %q has only keys %q; the test should exercise more", queue, keys)
		}
		for _, k := range keys {
			if got := keySlot(k); got != want {
				t.Errorf("key %q is in slot %d, the queue's is %d", k, got, want)
			}
			if strings.Contains(k, "}:req:") { // an enqueue's request key (retry.go)
				if ttl, err := c.TTL(ctx, k).Result(); err != nil || ttl <= 0 {
					t.Errorf("request key %q has TTL %v (%v), want one that expires", k, ttl, err)
				}
				continue
			}
			if !built[k] {
				t.Errorf("key %q is not listed by the key builder (ClearQueues would leave it)", k)
			}
		}
	}
}

// The whole conformance suite on a one-node Redis Cluster through a
// ClusterClient: the client routes each script by its keys' slot and Redis
// refuses declared keys of two slots (CROSSSLOT).
func TestConformanceCluster(t *testing.T) {
	srv, cc := redistest.StartCluster(t)
	ctx := context.Background()
	admin := srv.Client(t)

	queuetest.Run(t, queuetest.Harness{Features: queuetest.Features{WaitDequeue: true, Schedules: true, MessageInspector: true, MultiWait: true}, New: func(t *testing.T) queuetest.Env {
		prefix := fmt.Sprintf("rgc%d", prefixes.Add(1))
		return queuetest.Env{
			Backend: mustNew(t, cc, WithPrefix(prefix)),
			Advance: time.Sleep,
			Dump:    func() string { return redistest.Dump(t, admin, prefix) },
		}
	}})

	// WaitAny groups queues by the slot the server gives their keys.
	t.Run("WaitAnySlots", func(t *testing.T) {
		for _, q := range []string{"q", "emails", "reports", "idle07", "ünïcode"} {
			want, err := admin.ClusterKeySlot(ctx, "rg:{"+q+"}:wake").Result()
			if err != nil {
				t.Fatal(err)
			}
			if got := clusterSlot(q); int64(got) != want {
				t.Errorf("clusterSlot(%q) = %d, the server says %d", q, got, want)
			}
		}
	})

	// A pool over queues of several slots is woken on any of them.
	t.Run("Pool", func(t *testing.T) {
		b := mustNew(t, cc, WithPrefix("rgcp"))
		p, err := core.NewPool(b)
		if err != nil {
			t.Fatal(err)
		}
		handled := make(chan string, 3)
		for _, q := range []string{"a", "b", "c"} {
			if err := p.HandleFunc(q, func(_ context.Context, m *core.Message) core.Result {
				handled <- m.Queue
				return core.Success()
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := p.Stop(ctx); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(200 * time.Millisecond) // idle, blocked on every slot
		for _, q := range []string{"c", "a"} {
			enqueue(t, b, q, "m-"+q)
			select {
			case got := <-handled:
				if got != q {
					t.Fatalf("handled a message of %q, want %q", got, q)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("an enqueue to %q on a cluster did not wake the pool", q)
			}
		}
	})

	// The worker's pipelined wait and dequeue go to the queue's node too.
	t.Run("WaitDequeue", func(t *testing.T) {
		b := mustNew(t, cc, WithPrefix("rgcw"))
		done := make(chan core.DequeueResult, 1)
		go func() {
			res, err := b.WaitDequeue(ctx, core.WaitDequeueParams{DequeueParams: core.DequeueParams{Queue: "q", Max: 10, Lock: time.Minute}, Timeout: 5 * time.Second})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		waitBlocked(t, admin, 1)
		enqueue(t, b, "q", "m1")
		if res := <-done; len(res.Messages) != 1 || res.Messages[0].ID != "m1" {
			t.Fatalf("WaitDequeue on a cluster: %+v", res)
		}
	})
}

// A stale token (the lock was taken again) changes nothing: not by ack,
// not by extension, for any outcome.
func TestFencedAckChangesNothing(t *testing.T) {
	t.Parallel()
	b, c, prefix := newEnv(t)
	ctx := context.Background()
	enqueue(t, b, "q", "m1", "m2")
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 2, Lock: 50 * time.Millisecond})
	if err != nil || len(res.Messages) != 2 {
		t.Fatalf("dequeue: %v %d", err, len(res.Messages))
	}
	stale := res.Messages
	time.Sleep(100 * time.Millisecond)
	again := take(t, b, "q", 2) // the locks expired: taken again, new token
	if len(again) != 2 || again[0].Token == stale[0].Token {
		t.Fatalf("retake: %d messages, token %d (stale %d)", len(again), again[0].Token, stale[0].Token)
	}

	before := redistest.Dump(t, c, prefix)
	for _, o := range []core.Outcome{core.OutcomeSuccess, core.OutcomeRetry, core.OutcomeError} {
		errs, err := b.Ack(ctx, "q", []core.Ack{
			{ID: "m1", Token: stale[0].Token, Outcome: o, Backoff: time.Minute, Error: "late"},
			{ID: "m2", Token: 0, Outcome: o},
			{ID: "gone", Token: again[0].Token, Outcome: o},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range errs {
			if !errors.Is(e, core.ErrLockLost) {
				t.Fatalf("stale ack %d (%v): %v, want ErrLockLost", i, o, e)
			}
		}
	}
	errs, err := b.ExtendLocks(ctx, "q", []core.LockRef{
		{ID: "m1", Token: stale[0].Token, Duration: time.Hour},
		{ID: "m2", Token: 0, Duration: time.Hour},
		{ID: "gone", Token: again[0].Token, Duration: time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if !errors.Is(e, core.ErrLockLost) {
			t.Fatalf("stale extension %d: %v, want ErrLockLost", i, e)
		}
	}
	if after := redistest.Dump(t, c, prefix); after != before {
		t.Fatalf("stale acks and extensions changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// argRecorder records every argument the client sends.
type argRecorder struct {
	mu    sync.Mutex
	cmds  [][]any
	count int // commands sent (one pipeline of n commands counts n)
	trips int // round trips
}

func (r *argRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *argRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.mu.Lock()
		r.cmds = append(r.cmds, cmd.Args())
		r.count++
		r.trips++
		r.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (r *argRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.mu.Lock()
		for _, c := range cmds {
			r.cmds = append(r.cmds, c.Args())
		}
		r.count += len(cmds)
		r.trips++
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (r *argRecorder) reset() (count, trips int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	count, trips = r.count, r.trips
	r.cmds, r.count, r.trips = nil, 0, 0
	return count, trips
}

// Time comes from the server: no argument the client sends looks like a
// clock reading, and what the scripts store agrees with the server's TIME.
func TestServerTimeOnly(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	rec := &argRecorder{}
	c.AddHook(rec)
	ctx := context.Background()

	reqs := []core.EnqueueRequest{
		{Queue: "q", ID: "now", Payload: []byte("x")},
		{Queue: "q", ID: "later", Payload: []byte("x"), Delay: time.Hour, LockDuration: time.Minute},
	}
	if _, err := b.Enqueue(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	ds := take(t, b, "q", 10)
	if len(ds) != 1 {
		t.Fatalf("took %d", len(ds))
	}
	if _, err := b.ExtendLocks(ctx, "q", []core.LockRef{{ID: ds[0].ID, Token: ds[0].Token, Duration: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: ds[0].ID, Token: ds[0].Token, Backoff: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.QueueContent(ctx, "q", "", 10); err != nil {
		t.Fatal(err)
	}

	// Any epoch-milliseconds or -seconds reading within a year of now,
	// in decimal or packed into a binary argument, is a client clock.
	now := time.Now()
	clockLike := func(v int64) bool {
		for _, unit := range []int64{1, 1000} { // ms, s
			ref := now.UnixMilli() / unit
			if d := v - ref; d > -365*24*3600*1000/unit && d < 365*24*3600*1000/unit {
				return true
			}
		}
		return false
	}
	rec.mu.Lock()
	cmds := rec.cmds
	rec.mu.Unlock()
	for _, args := range cmds {
		for _, a := range args {
			var s string
			switch v := a.(type) {
			case string:
				s = v
			case []byte:
				s = string(v)
			case int, int64, uint64:
				s = fmt.Sprint(v)
			default:
				continue
			}
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && clockLike(n) {
				t.Fatalf("command %v sends %d, which looks like a clock reading", args[0], n)
			}
			for i := 0; i+6 <= len(s); i++ { // 48-bit big-endian windows
				if clockLike(uint48(s[i : i+6])) {
					t.Fatalf("command %v sends bytes that hold a clock reading", args[0])
				}
			}
		}
	}

	// What is stored agrees with the server's clock.
	serverNow, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.HGet(ctx, b.keys("q").msgs, "later").Result()
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(v)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.UnixMilli(h.boExp).Sub(serverNow.Add(time.Hour)); d > 0 || d < -5*time.Second {
		t.Fatalf("backoff expiry %v is not server now + 1h (%v)", time.UnixMilli(h.boExp), serverNow.Add(time.Hour))
	}
	if d := serverNow.Sub(time.UnixMilli(h.first)); d < 0 || d > 5*time.Second {
		t.Fatalf("first enqueued %v is not near the server's now %v", time.UnixMilli(h.first), serverNow)
	}
}

// One dequeue of 100 and one ack of 100 are one round trip each.
func TestBatchRoundTrips(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%03d", i)
	}
	rec := &argRecorder{}
	c.AddHook(rec)
	// Load the scripts first, so that EVALSHA does not fall back to EVAL.
	enqueue(t, b, "warm", "w")
	ws := take(t, b, "warm", 1)
	if _, err := b.Ack(ctx, "warm", []core.Ack{{ID: ws[0].ID, Token: ws[0].Token}}); err != nil {
		t.Fatal(err)
	}
	// The first use of a queue checks the store (health.go) once.
	if err := b.CheckHealth(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	rec.reset()

	enqueue(t, b, "q", ids...)
	if n, trips := rec.reset(); n != 1 || trips != 1 {
		t.Fatalf("enqueue of 100: %d commands in %d round trips, want 1", n, trips)
	}
	ds := take(t, b, "q", 100)
	if n, trips := rec.reset(); n != 1 || trips != 1 {
		t.Fatalf("dequeue of 100: %d commands in %d round trips, want 1", n, trips)
	}
	if len(ds) != 100 {
		t.Fatalf("took %d, want 100", len(ds))
	}
	acks := make([]core.Ack, len(ds))
	for i, d := range ds {
		if d.ID != ids[i] {
			t.Fatalf("message %d is %s, want %s (FIFO)", i, d.ID, ids[i])
		}
		acks[i] = core.Ack{ID: d.ID, Token: d.Token}
	}
	errs, err := b.Ack(ctx, "q", acks)
	if err != nil {
		t.Fatal(err)
	}
	if n, trips := rec.reset(); n != 1 || trips != 1 {
		t.Fatalf("ack of 100: %d commands in %d round trips, want 1", n, trips)
	}
	for _, e := range errs {
		if e != nil {
			t.Fatal(e)
		}
	}
	if s, err := b.QueueStats(ctx, "q"); err != nil || s != (core.QueueStats{}) {
		t.Fatalf("stats after acking all: %+v %v", s, err)
	}
}

// Wait returns within milliseconds when another client enqueues.
func TestWaitWakesOnEnqueueFromAnotherClient(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t) // private: waitBlocked counts its clients
	waiter, other, admin := mustNew(t, srv.Client(t)), mustNew(t, srv.Client(t)), srv.Client(t)
	ctx := context.Background()

	for round := range 3 {
		done := make(chan time.Time, 1)
		go func() {
			err := waiter.Wait(ctx, "q", 5*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
		waitBlocked(t, admin, 1)
		select {
		case <-done:
			t.Fatalf("round %d: Wait returned before anything was enqueued", round)
		default:
		}
		sent := time.Now()
		enqueue(t, other, "q", fmt.Sprintf("m%d", round))
		woke := <-done
		if lat := woke.Sub(sent); lat > 200*time.Millisecond {
			t.Fatalf("round %d: Wait woke %v after the enqueue", round, lat)
		}
		take(t, waiter, "q", 10)
	}
}

// A Wait with a short timeout blocks about that long (fractional seconds
// reach Redis), and a cancelled context ends a long one promptly.
func TestWaitTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	b, _, _ := newEnv(t)
	start := time.Now()
	if err := b.Wait(context.Background(), "q", 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 140*time.Millisecond || el > 600*time.Millisecond {
		t.Fatalf("Wait(150ms) took %v", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	err := b.Wait(ctx, "q", time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v", err)
	}
	if el := time.Since(start); el > maxBlock+500*time.Millisecond {
		t.Fatalf("cancelled Wait took %v", el)
	}
}

// While Redis is down calls fail; after a restart (append-only file) they
// work again and nothing was lost.
func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.WithAppendOnly())
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	b := mustNew(t, c)
	ctx := context.Background()
	enqueue(t, b, "q", "before1", "before2")
	d := take(t, b, "q", 1)

	srv.Kill()
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "during"}}); err == nil {
		t.Fatal("Enqueue answered no error while Redis was down")
	}
	if _, err := b.Dequeue(ctx, core.DequeueParams{Queue: "q", Max: 1, Lock: time.Minute}); err == nil {
		t.Fatal("Dequeue answered no error while Redis was down")
	}
	if _, err := b.Ack(ctx, "q", []core.Ack{{ID: d[0].ID, Token: d[0].Token}}); err == nil {
		t.Fatal("Ack answered no error while Redis was down")
	}
	if err := b.Wait(ctx, "q", 100*time.Millisecond); err == nil {
		t.Fatal("Wait answered no error while Redis was down")
	}

	srv.Restart(t)
	if s, err := b.MessageStatus(ctx, "q", d[0].ID); err != nil || s != core.StatusLocked {
		t.Fatalf("after restart %s is %v (%v), want locked", d[0].ID, s, err)
	}
	errs, err := b.Ack(ctx, "q", []core.Ack{{ID: d[0].ID, Token: d[0].Token}})
	if err != nil || errs[0] != nil {
		t.Fatalf("ack after restart: %v %v", err, errs)
	}
	enqueue(t, b, "q", "after")
	got := take(t, b, "q", 10)
	if len(got) != 2 || got[0].ID != "before2" || got[1].ID != "after" {
		t.Fatalf("after restart took %v, want before2 and after", idsOf(got))
	}
	if got[1].Token <= d[0].Token {
		t.Fatalf("token went back from %d to %d across the restart", d[0].Token, got[1].Token)
	}
}

func idsOf(ds []core.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// The dead-letter list keeps the newest entries up to its limit; a limit
// of 0 keeps none.
func TestDeadLetterLimit(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{0, 3} {
		b, _, _ := newEnv(t, WithDeadLetterLimit(limit))
		ctx := context.Background()
		for i := range 5 {
			id := fmt.Sprintf("m%d", i)
			enqueue(t, b, "q", id)
			d := take(t, b, "q", 1)
			errs, err := b.Ack(ctx, "q", []core.Ack{{ID: id, Token: d[0].Token, Outcome: core.OutcomeError, Error: "e" + id}})
			if err != nil || errs[0] != nil {
				t.Fatal(err, errs)
			}
			time.Sleep(2 * time.Millisecond) // distinct failed-at times
		}
		dl, err := b.DeadLetters(ctx, "q", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range dl {
			got = append(got, x.ID)
		}
		want := []string{"m4", "m3", "m2"}
		if limit == 0 {
			want = nil
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("limit %d: dead letters %v, want %v", limit, got, want)
		}
		if s, _ := b.QueueStats(ctx, "q"); s.Dead != int64(len(want)) || s.Total != 0 {
			t.Fatalf("limit %d: stats %+v", limit, s)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	// New talks to no server: an unused client is enough.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, tc := range []struct {
		name  string
		opt   Option
		field string
	}{
		{"empty prefix", WithPrefix(""), "WithPrefix"},
		{"opening brace", WithPrefix("a{b"), "WithPrefix"},
		{"closing brace", WithPrefix("}"), "WithPrefix"},
		{"negative dead-letter limit", WithDeadLetterLimit(-1), "WithDeadLetterLimit"},
		{"negative payload limit", WithLimits(core.Limits{MaxPayloadBytes: -1}), "WithLimits"},
		{"negative header limit", WithLimits(core.Limits{MaxHeaders: -1}), "WithLimits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(c, tc.opt)
			var ie *core.InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("New = %v, %v; want an *InvalidError naming %s", b, err, tc.field)
			}
			if b != nil {
				t.Fatalf("New answered a backend with its error")
			}
		})
	}
	if _, err := New(nil); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("New(nil) = %v, want an invalid-input error", err)
	}
	if b, err := New(c, WithDeadLetterLimit(0)); err != nil || b.cfg.deadLimit != 0 {
		t.Fatalf("WithDeadLetterLimit(0) = %v, %v; zero keeps no dead letters and is valid", b, err)
	}
}

// Glob characters in the prefix are matched literally by QueueNames.
func TestQueueNamesPrefixIsLiteral(t *testing.T) {
	t.Parallel()
	_, c, prefix := newEnv(t)
	star := mustNew(t, c, WithPrefix(prefix+"*"))
	plain := mustNew(t, c, WithPrefix(prefix+"x"))
	enqueue(t, star, "s", "m")
	enqueue(t, plain, "p", "m")
	names, err := star.QueueNames(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[s]" {
		t.Fatalf("QueueNames with prefix %q: %v, want [s]", prefix+"*", names)
	}
}

// Large batches are split into several script calls and still answer in
// order.
func TestLargeBatches(t *testing.T) {
	t.Parallel()
	b, _, _ := newEnv(t)
	ctx := context.Background()
	n := maxBatch + 250
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%05d", i)
	}
	enqueue(t, b, "q", ids...)
	var ds []core.Delivery
	for len(ds) < n {
		got := take(t, b, "q", maxBatch*2)
		if len(got) == 0 {
			t.Fatalf("took %d of %d", len(ds), n)
		}
		ds = append(ds, got...)
	}
	acks := make([]core.Ack, 0, n+1)
	for i, d := range ds {
		if d.ID != ids[i] {
			t.Fatalf("message %d is %s, want %s", i, d.ID, ids[i])
		}
		acks = append(acks, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeRetry})
	}
	// The same id twice in one batch: the second ack sees the first's
	// effect (the retry spent the token).
	acks = append(acks, acks[0])
	errs, err := b.Ack(ctx, "q", acks)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs[:n] {
		if e != nil {
			t.Fatalf("ack %d: %v", i, e)
		}
	}
	if !errors.Is(errs[n], core.ErrLockLost) {
		t.Fatalf("repeated ack: %v, want ErrLockLost", errs[n])
	}
	if s, _ := b.QueueStats(ctx, "q"); s.Queued != int64(n) {
		t.Fatalf("stats %+v, want %d queued", s, n)
	}
}

// Every call touches only the keys of its own queue: a user whose ACL
// allows just one queue's keys can do everything on that queue (Redis
// checks the ACL of each command a script runs).
func TestScriptsTouchOneQueueOnly(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	admin := srv.Client(t)
	const queue = "only"
	if err := admin.Do(ctx, "acl", "setuser", "q1", "on", ">pw", "~rg:{"+queue+"}:*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), Username: "q1", Password: "pw"})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Get(ctx, "rg:{other}:msgs").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("the ACL does not restrict keys: %v", err)
	}
	b := mustNew(t, c)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := b.Enqueue(ctx, []core.EnqueueRequest{
		{Queue: queue, ID: "a", Payload: []byte("a")},
		{Queue: queue, ID: "b", Payload: []byte("b")},
		{Queue: queue, ID: "c", Payload: []byte("c")},
		{Queue: queue, ID: "d", Delay: 20 * time.Millisecond, LockDuration: 20 * time.Millisecond},
	})
	must("enqueue", err)
	res, err := b.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: 3, Lock: time.Minute})
	must("dequeue", err)
	ds := res.Messages
	_, err = b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: ds[0].ID, CanRequeue: true}})
	must("requeue", err)
	_, err = b.ExtendLocks(ctx, queue, []core.LockRef{{ID: ds[0].ID, Token: ds[0].Token, Duration: time.Minute}})
	must("extend", err)
	_, err = b.Ack(ctx, queue, []core.Ack{
		{ID: ds[0].ID, Token: ds[0].Token},
		{ID: ds[1].ID, Token: ds[1].Token, Outcome: core.OutcomeError, Error: "x"},
		{ID: ds[2].ID, Token: ds[2].Token, Outcome: core.OutcomeRetry, Backoff: 10 * time.Millisecond},
	})
	must("ack", err)
	time.Sleep(50 * time.Millisecond)
	res, err = b.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: 10, Lock: 10 * time.Millisecond}) // requeue, delay, backoff
	must("dequeue", err)
	time.Sleep(30 * time.Millisecond)
	_, err = b.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: 10, Lock: time.Minute}) // expired locks
	must("dequeue", err)
	must("wait", b.Wait(ctx, queue, time.Millisecond))
	_, err = b.MessageStatus(ctx, queue, "a")
	must("status", err)
	_, err = b.QueueStats(ctx, queue)
	must("stats", err)
	_, _, err = b.QueueContent(ctx, queue, "", 2)
	must("content", err)
	_, err = b.DeadLetters(ctx, queue, 0, 10)
	must("dead letters", err)
	_, err = b.RequeueDeadLetters(ctx, queue)
	must("requeue dead letters", err)
	_, err = b.PurgeDeadLetters(ctx, queue)
	must("purge dead letters", err)
	must("clear", b.ClearQueues(ctx, queue))
}

// A message that is only queued is stored with the short header, whichever
// script wrote it; one that was handled, delayed or has its own lock, with
// the full one. Either reads back the same.
func TestStoredHeaderForms(t *testing.T) {
	t.Parallel()
	b, c, _ := newEnv(t)
	ctx := context.Background()
	stored := func(id string) (header, string) {
		t.Helper()
		v, err := c.HGet(ctx, b.keys("q").msgs, id).Result()
		if err != nil {
			t.Fatalf("HGET %s: %v", id, err)
		}
		h, err := parseHeader(v)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return h, v[h.size():]
	}
	wantForm := func(id string, short bool) header {
		t.Helper()
		h, body := stored(id)
		if h.short != short {
			t.Fatalf("%s: short form %v, want %v (%+v)", id, h.short, short, h)
		}
		if _, payload, err := unpackBody(body); err != nil || string(payload) != "p-"+id {
			t.Fatalf("%s: body %q (%v), want payload %q", id, body, err, "p-"+id)
		}
		return h
	}

	// The plain fast path, the general path (an option set), a dead-letter
	// requeue, and the long cases.
	reqs := []core.EnqueueRequest{
		{Queue: "q", ID: "plain", Payload: []byte("p-plain")},
		{Queue: "q", ID: "general", Payload: []byte("p-general"), CanUpdate: true},
		{Queue: "q", ID: "delayed", Payload: []byte("p-delayed"), Delay: time.Hour},
		{Queue: "q", ID: "own-lock", Payload: []byte("p-own-lock"), LockDuration: time.Minute},
	}
	for _, r := range reqs {
		if res, err := b.Enqueue(ctx, []core.EnqueueRequest{r}); err != nil || res[0].Err != nil {
			t.Fatalf("enqueue %s: %v %v", r.ID, err, res)
		}
	}
	if h := wantForm("plain", true); h.first == 0 {
		t.Fatal("short form without a first-enqueued time")
	}
	wantForm("general", true)
	wantForm("delayed", false)
	wantForm("own-lock", false)

	// Taken: full form, the first-enqueued time kept; status and content
	// read both forms.
	before, _ := stored("general")
	ds := take(t, b, "q", 10)
	if len(ds) != 3 {
		t.Fatalf("took %v, want plain, general and own-lock", idsOf(ds))
	}
	h := wantForm("general", false)
	if h.first != before.first || h.attempts != 1 || h.token == 0 {
		t.Fatalf("taken: %+v, want first %d, attempt 1 and a token", h, before.first)
	}
	if s, err := b.MessageStatus(ctx, "q", "delayed"); err != nil || s != core.StatusQueuedWithBackoff {
		t.Fatalf("status of delayed: %v %v", s, err)
	}
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: "q", ID: "fresh", Payload: []byte("p-fresh")}}); err != nil {
		t.Fatal(err)
	}
	if s, err := b.MessageStatus(ctx, "q", "fresh"); err != nil || s != core.StatusQueued {
		t.Fatalf("status of fresh: %v %v", s, err)
	}
	msgs, _, err := b.QueueContent(ctx, "q", "", 10)
	if err != nil || len(msgs) != 5 {
		t.Fatalf("content: %d messages, %v; want 5", len(msgs), err)
	}

	// An ack on a short-form message changes nothing, even with the token
	// that reading it as a full header would find (bytes 5-12: the time
	// and the body's first bytes).
	raw, err := c.HGet(ctx, b.keys("q").msgs, "fresh").Result()
	if err != nil {
		t.Fatal(err)
	}
	misread := binary.BigEndian.Uint64([]byte(raw[5:13]))
	res, err := b.Ack(ctx, "q", []core.Ack{{ID: "fresh", Token: misread}})
	if err != nil || !errors.Is(res[0], core.ErrLockLost) {
		t.Fatalf("ack of a queued message: %v %v, want lock lost", res, err)
	}
	wantForm("fresh", true)

	// A dead letter requeued without its own lock comes back short.
	for _, d := range ds {
		if d.ID == "plain" {
			if _, err := b.Ack(ctx, "q", []core.Ack{{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "x"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := b.RequeueDeadLetters(ctx, "q", "plain"); err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	wantForm("plain", true)
}
