package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/queuestats"
)

const defaultRedisURL = "redis://127.0.0.1:6379/0"

// globals are the flags every command takes.
type globals struct {
	redisURL string // "" means $REDIS_URL, else defaultRedisURL
	cluster  string
	prefix   string
	timeout  time.Duration
}

func defaultGlobals() globals {
	return globals{prefix: redisqueue.DefaultPrefix, timeout: 10 * time.Second}
}

// register defines the global flags on fs with their current values as
// defaults, so that a command's flag set may take them again after the
// command name without resetting what came before it.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.redisURL, "redis", g.redisURL,
		"Redis `URL` (default $REDIS_URL, else "+defaultRedisURL+")")
	fs.StringVar(&g.cluster, "cluster", g.cluster,
		"Redis Cluster node `addresses`, comma-separated (host:port,...); user, password and TLS come from -redis")
	fs.StringVar(&g.prefix, "prefix", g.prefix, "key `prefix` of the queues, as the backend's redisqueue.WithPrefix")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "time limit of each Redis call (0: none)")
}

// app is one run of the program.
type app struct {
	g              globals
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	cmd   *command // the command being run, for usage errors
	group bool     // a usage error of the "dead" group itself

	client redis.UniversalClient
	b      *redisqueue.Backend
}

// open checks the global flags and makes the client and backend; it does
// not connect (the first call does).
func (a *app) open() error {
	g := a.g
	switch {
	case g.prefix == "":
		return usagef("-prefix: empty")
	case strings.ContainsAny(g.prefix, "{}"):
		return usagef("-prefix %q: holds '{' or '}' (reserved for the Redis hash tag)", g.prefix)
	case g.timeout < 0:
		return usagef("-timeout: negative (%s)", g.timeout)
	}
	raw, explicit := g.redisURL, true
	if raw == "" {
		raw = a.getenv("REDIS_URL")
	}
	if raw == "" {
		raw, explicit = defaultRedisURL, false
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		// A *url.Error repeats the URL, password and all; keep it out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return usagef("-redis: invalid URL: %v", err)
	}
	if g.cluster == "" {
		opt.ContextTimeoutEnabled = true
		a.client = redis.NewClient(opt)
	} else {
		var addrs []string
		for _, s := range strings.Split(g.cluster, ",") {
			if s = strings.TrimSpace(s); s != "" {
				addrs = append(addrs, s)
			}
		}
		if len(addrs) == 0 {
			return usagef("-cluster: no address in %q", g.cluster)
		}
		uo := &redis.UniversalOptions{Addrs: addrs, IsClusterMode: true, ContextTimeoutEnabled: true}
		// The URL, when one is given, brings the user, password and TLS
		// settings (rediss://: its host is the name the certificates must
		// show, as in redis.ParseClusterURL); its address is not used.
		if explicit {
			if opt.DB != 0 {
				return usagef("-cluster: a Redis Cluster has only database 0, but the -redis URL names database %d", opt.DB)
			}
			uo.Username, uo.Password, uo.TLSConfig = opt.Username, opt.Password, opt.TLSConfig
		}
		a.client = redis.NewUniversalClient(uo)
	}
	b, err := redisqueue.New(a.client, redisqueue.WithPrefix(g.prefix))
	if err != nil {
		return usagef("-prefix: %v", err)
	}
	a.b = b
	return nil
}

func (a *app) close() {
	if a.client != nil {
		_ = a.client.Close()
	}
}

// status is one message's status, within -timeout.
func (a *app) status(ctx context.Context, queue, id string) (core.Status, error) {
	var st core.Status
	err := a.call(ctx, func(ctx context.Context) (err error) {
		st, err = a.b.MessageStatus(ctx, queue, id)
		return err
	})
	return st, err
}

// call runs one Redis call under the -timeout limit. An error that the
// limit caused says so (the client may report it as a network timeout).
func (a *app) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if a.g.timeout <= 0 {
		return fn(ctx)
	}
	cctx, cancel := context.WithTimeout(ctx, a.g.timeout)
	defer cancel()
	err := fn(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (no answer within -timeout %s)", err, a.g.timeout)
	}
	return err
}

// stats reads the counts of queues, a few at a time, in order, each call
// within -timeout.
func (a *app) stats(ctx context.Context, queues []string) ([]core.QueueStats, error) {
	return queuestats.Read(ctx, queues, func(ctx context.Context, q string) (st core.QueueStats, err error) {
		err = a.call(ctx, func(ctx context.Context) (err error) {
			st, err = a.b.QueueStats(ctx, q)
			return err
		})
		return st, err
	})
}

// confirm asks question on stderr unless yes, and reads the answer from
// stdin: "y" or "yes" goes on; anything else, or no answer, is
// errDeclined.
func (a *app) confirm(ctx context.Context, yes bool, question string) error {
	if yes {
		return nil
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		ch <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stderr)
		return fmt.Errorf("interrupted (%v): %w", ctx.Err(), errDeclined)
	case ans := <-ch:
		if !a.interactive() && ans.line != "" {
			// Nobody typed it, so nothing echoed it: keep the transcript whole.
			fmt.Fprintln(a.stderr, strings.TrimRight(ans.line, "\r\n"))
		}
		switch strings.ToLower(strings.TrimSpace(ans.line)) {
		case "y", "yes":
			return nil
		}
		if ans.err != nil && ans.line == "" {
			fmt.Fprintln(a.stderr)
			return fmt.Errorf("no answer on stdin (-yes skips the question): %w", errDeclined)
		}
		return errDeclined
	}
}

// interactive tells whether stdin is a terminal (whose echo ends the
// question's line).
func (a *app) interactive() bool {
	f, ok := a.stdin.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// validQueues checks queue names (bad ones are usage errors) and drops
// repeats, keeping the order.
func validQueues(names []string) ([]string, error) {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if err := core.ValidateQueueName(n); err != nil {
			return nil, usagef("queue name %q: %s", n, reason(err))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// validIDs checks message ids as validQueues checks names.
func validIDs(ids []string) ([]string, error) {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := core.ValidateID(id); err != nil {
			return nil, usagef("message id %q: %s", id, reason(err))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// reason is the why of an *core.InvalidError, or the error's text.
func reason(err error) string {
	var ie *core.InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return err.Error()
}
