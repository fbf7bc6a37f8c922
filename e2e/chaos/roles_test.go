package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// The test binary runs itself as the producer and the workers of a
// scenario: CHAOS_ROLE names the role, the other CHAOS_ variables its
// settings (see producerEnv and workerEnv in harness_test.go).
const roleEnv = "CHAOS_ROLE"

// runRole runs the role named by CHAOS_ROLE and answers the exit code.
func runRole(role string) int {
	var err error
	switch role {
	case "producer":
		err = produce()
	case "worker":
		err = work()
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos %s %d: %v\n", role, os.Getpid(), err)
		return 1
	}
	return 0
}

func env(name string) string { return os.Getenv("CHAOS_" + name) }

func envInt(name string, def int) (int, error) {
	s := env(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("CHAOS_%s: %w", name, err)
	}
	return n, nil
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	s := env(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("CHAOS_%s: %w", name, err)
	}
	return d, nil
}

// openLog opens a record file for appending. Each record is one write(2)
// of whole lines on an O_APPEND descriptor: it is in the kernel's page
// cache as soon as the call returns, so a kill -9 of the process right
// after cannot lose it.
func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}

func redisClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: env("ADDR")})
}

// produce enqueues CHAOS_N messages with ids CHAOS_IDS-0000000... at
// CHAOS_RATE messages a second (0: as fast as it can) in batches of
// CHAOS_BATCH, and records each id in CHAOS_OUT:
//
//	ok <id> <unix ns>     the backend accepted it (added, or refused as
//	                      already there: an earlier attempt had applied)
//	maybe <id> <unix ns>  an enqueue of it failed: it may or may not have
//	                      been applied; the producer sends it again
//	end <reason>          the producer is done
//
// With CHAOS_UNTIL_OOM set it stops at the first answer of a full Redis.
func produce() error {
	n, err := envInt("N", 1000)
	if err != nil {
		return err
	}
	rate, err := envInt("RATE", 0)
	if err != nil {
		return err
	}
	batch, err := envInt("BATCH", 20)
	if err != nil {
		return err
	}
	size, err := envInt("PAYLOAD", 16)
	if err != nil {
		return err
	}
	untilOOM := env("UNTIL_OOM") != ""
	out, err := openLog(env("OUT"))
	if err != nil {
		return err
	}
	defer out.Close()
	c := redisClient()
	defer c.Close()
	b, err := newBackend(c)
	if err != nil {
		return err
	}
	pub := core.NewPublisher(b)
	ctx := context.Background()
	queue, prefix := env("QUEUE"), env("IDS")
	payload := []byte(strings.Repeat("x", size))

	start := time.Now()
	var line []byte
	maybe := make(map[string]bool)
	for seq := 0; seq < n; {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(seq) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
		}
		k := min(batch, n-seq)
		pending := make([]core.EnqueueRequest, k)
		for i := range pending {
			pending[i] = core.EnqueueRequest{Queue: queue, ID: fmt.Sprintf("%s-%07d", prefix, seq+i), Payload: payload}
		}
		for failures := 0; len(pending) > 0; {
			res, err := pub.EnqueueBatch(ctx, pending)
			line = line[:0]
			now := time.Now().UnixNano()
			var again []core.EnqueueRequest
			oom := false
			for i, r := range pending {
				var e error
				if err != nil {
					e = err
				} else {
					e = res[i].Err
				}
				switch {
				case e == nil || core.IsRefusal(e):
					line = fmt.Appendf(line, "ok %s %d\n", r.ID, now)
				default:
					if !maybe[r.ID] {
						maybe[r.ID] = true
						line = fmt.Appendf(line, "maybe %s %d\n", r.ID, now)
					}
					oom = oom || strings.Contains(e.Error(), "OOM")
					again = append(again, r)
				}
			}
			if _, werr := out.Write(line); werr != nil {
				return werr
			}
			if untilOOM && oom {
				_, err := fmt.Fprintf(out, "end oom\n")
				return err
			}
			pending = again
			if len(pending) > 0 {
				failures++
				time.Sleep(min(time.Second, 20*time.Millisecond<<min(failures, 6)))
			}
		}
		seq += k
	}
	_, err = fmt.Fprintf(out, "end sent\n")
	return err
}

// work runs one worker on CHAOS_QUEUE until SIGTERM, then stops it with a
// deadline of CHAOS_GRACE. Its handler takes CHAOS_HANDLE, panics on the
// id CHAOS_POISON, and records each message it handled in CHAOS_OUT:
//
//	<id> <attempt> <pid> <unix ns>
//
// written before the handler returns success, so a message recorded here
// may be handled again (its ack lost) but a message never recorded was
// never handled. On a graceful stop the worker adds one line:
//
//	stats success=<n> lock_lost=<n> backend_errors=<n> stop=<error or ok>
func work() error {
	conc, err := envInt("CONC", 4)
	if err != nil {
		return err
	}
	lock, err := envDuration("LOCK", time.Second)
	if err != nil {
		return err
	}
	handle, err := envDuration("HANDLE", 0)
	if err != nil {
		return err
	}
	grace, err := envDuration("GRACE", 30*time.Second)
	if err != nil {
		return err
	}
	poison := env("POISON")
	out, err := openLog(env("OUT"))
	if err != nil {
		return err
	}
	defer out.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Before the backend is made, so that its store checks log here too.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	c := redisClient()
	defer c.Close()
	b, err := newBackend(c)
	if err != nil {
		return err
	}
	pid := os.Getpid()
	h := core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		if m.ID == poison {
			panic("poison message " + m.ID)
		}
		if handle > 0 {
			t := time.NewTimer(handle)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return core.RetryErr(0, context.Cause(ctx))
			}
		}
		line := fmt.Appendf(nil, "%s %d %d %d\n", m.ID, m.Attempt, pid, time.Now().UnixNano())
		if _, err := out.Write(line); err != nil {
			// Not recorded, so not handled: let it come back.
			return core.RetryErr(0, err)
		}
		return core.Success()
	})
	w, err := newWorker(core.NewQueue(b, env("QUEUE")), h, workerConfig{concurrency: conc, lock: lock})
	if err != nil {
		return err
	}
	if err := w.Start(context.Background()); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	stopErr := w.Stop(sctx)
	st := w.Stats()
	result := "ok"
	if stopErr != nil {
		result = strings.ReplaceAll(stopErr.Error(), " ", "_")
	}
	_, err = fmt.Fprintf(out, "stats success=%d lock_lost=%d backend_errors=%d stop=%s\n",
		st.Success, st.LockLost, st.BackendErrors, result)
	if errors.Is(stopErr, context.DeadlineExceeded) {
		return nil // reported in the stats line; the harness checks it
	}
	return err
}
