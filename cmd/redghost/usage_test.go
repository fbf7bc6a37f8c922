package main

import (
	"flag"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// Bad input is exit code 2 with the reason and the synopsis on stderr,
// and nothing on stdout; none of these cases reaches a server (there is
// none at the default address in the test run, and none is needed).
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	const top = "usage: redghost [global flags] COMMAND [flags] [arguments]\nrun 'redghost help' for the commands\n"
	const dead = `usage: redghost dead list [-offset N] [-limit N] [-payload [-width N]] [-json] QUEUE
usage: redghost dead requeue [-yes] QUEUE [ID...]
usage: redghost dead purge [-yes] QUEUE
run 'redghost help dead' for details
`
	cmd := func(name, args string) string {
		return "usage: redghost " + name + " " + args + "\nrun 'redghost help " + name + "' for details\n"
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "redghost: missing command\n" + top},
		{[]string{"frobnicate"}, `redghost: unknown command "frobnicate"` + "\n" + top},
		{[]string{"-bogus", "queues"}, "redghost: flag provided but not defined: -bogus\n" + top},
		{[]string{"help", "nope"}, `redghost: help: unknown command "nope"` + "\n" + top},
		{[]string{"queues", "extra"}, `redghost: queues: takes no arguments, got "extra"` + "\n" + cmd("queues", "[-json]")},
		{[]string{"stats"}, "redghost: stats: missing queue name\n" + cmd("stats", "[-json] QUEUE...")},
		{[]string{"stats", ""}, `redghost: queue name "": empty` + "\n" + cmd("stats", "[-json] QUEUE...")},
		{[]string{"stats", strings.Repeat("q", 257)}, `redghost: queue name "` + strings.Repeat("q", 257) + `": 257 bytes, more than the 256 allowed` + "\n" + cmd("stats", "[-json] QUEUE...")},
		{[]string{"stats", "-json=maybe", "q"}, `redghost: invalid boolean value "maybe" for -json: parse error` + "\n" + cmd("stats", "[-json] QUEUE...")},
		{[]string{"status"}, "redghost: status: missing queue name and message id\n" + cmd("status", "QUEUE ID")},
		{[]string{"status", "q"}, "redghost: status: missing message id\n" + cmd("status", "QUEUE ID")},
		{[]string{"status", "q", "a", "b"}, "redghost: status: too many arguments (3); want QUEUE ID\n" + cmd("status", "QUEUE ID")},
		{[]string{"status", "q{", "a"}, `redghost: queue name "q{": holds '{' or '}' (reserved for the Redis hash tag)` + "\n" + cmd("status", "QUEUE ID")},
		{[]string{"content"}, "redghost: content: missing queue name\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"content", "q", "r"}, "redghost: content: one queue at a time, got 2 arguments\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"content", "-limit", "0", "q"}, "redghost: -limit 0: want 1 to 1000\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"content", "q", "-limit", "1001"}, "redghost: -limit 1001: want 1 to 1000\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"content", "-width", "-1", "q"}, "redghost: -width -1: negative\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"content", "-nope", "q"}, "redghost: flag provided but not defined: -nope\n" + cmd("content", "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"dead"}, "redghost: dead: missing subcommand (list, requeue or purge)\n" + dead},
		{[]string{"dead", "bury", "q"}, `redghost: dead: unknown subcommand "bury" (want list, requeue or purge)` + "\n" + dead},
		{[]string{"dead", "list"}, "redghost: dead list: missing queue name\n" + cmd("dead list", "[-offset N] [-limit N] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"dead", "list", "-offset", "-1", "q"}, "redghost: -offset -1: negative\n" + cmd("dead list", "[-offset N] [-limit N] [-payload [-width N]] [-json] QUEUE")},
		{[]string{"dead", "requeue"}, "redghost: dead requeue: missing queue name\n" + cmd("dead requeue", "[-yes] QUEUE [ID...]")},
		{[]string{"dead", "requeue", "q", "ok", ""}, `redghost: message id "": empty` + "\n" + cmd("dead requeue", "[-yes] QUEUE [ID...]")},
		{[]string{"dead", "purge", "q", "r"}, "redghost: dead purge: one queue at a time, got 2 arguments\n" + cmd("dead purge", "[-yes] QUEUE")},
		{[]string{"clear"}, "redghost: clear: missing queue name\n" + cmd("clear", "[-yes] QUEUE...")},
		{[]string{"clear", "-yes", "ok", "bad}"}, `redghost: queue name "bad}": holds '{' or '}' (reserved for the Redis hash tag)` + "\n" + cmd("clear", "[-yes] QUEUE...")},

		// Global flags, before or after the command.
		{[]string{"-prefix", "", "queues"}, "redghost: -prefix: empty\n" + cmd("queues", "[-json]")},
		{[]string{"queues", "-prefix", "a{"}, `redghost: -prefix "a{": holds '{' or '}' (reserved for the Redis hash tag)` + "\n" + cmd("queues", "[-json]")},
		{[]string{"-timeout", "-1s", "queues"}, "redghost: -timeout: negative (-1s)\n" + cmd("queues", "[-json]")},
		{[]string{"-redis", "http://h:1", "queues"}, "redghost: -redis: invalid URL: redis: invalid URL scheme: http\n" + cmd("queues", "[-json]")},
		{[]string{"-cluster", " , ", "queues"}, `redghost: -cluster: no address in " , "` + "\n" + cmd("queues", "[-json]")},
		{[]string{"-redis", "redis://h:1/3", "-cluster", "a:1,b:2", "queues"}, "redghost: -cluster: a Redis Cluster has only database 0, but the -redis URL names database 3\n" + cmd("queues", "[-json]")},
	} {
		r := runCLI(t, "", c.args...)
		if r.code != 2 || r.stdout != "" || r.stderr != c.want {
			t.Errorf("redghost %q: exit %d, stdout %q, stderr:\n%s--- want exit 2, stderr:\n%s", c.args, r.code, r.stdout, r.stderr, c.want)
		}
	}
}

// A URL that does not parse is reported without the URL itself, which may
// hold a password.
func TestBadURLHidesPassword(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "-redis", "redis://user:s3cret@[::1:6379/0", "queues")
	if r.code != 2 || strings.Contains(r.stderr, "s3cret") || !strings.HasPrefix(r.stderr, "redghost: -redis: invalid URL: ") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"-help"}} {
		r := runCLI(t, "", args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "redghost inspects and repairs Red Ghost queues on Redis.\n") {
			t.Errorf("redghost %q: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
		}
		for _, c := range commands {
			if !strings.Contains(r.stdout, "\n  "+strings.TrimSpace(c.name+" "+c.pos)+"  ") {
				t.Errorf("redghost %q does not list %q:\n%s", args, c.name, r.stdout)
			}
		}
	}
	for _, args := range [][]string{{"help", "content"}, {"content", "-h"}, {"content", "q", "-help"}} {
		r := runCLI(t, "", args...)
		r.want(t, 0, `usage: redghost content [-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE

`+contentCmd.detail+`

flags:
  -cursor C
    	start the page at cursor C, as printed after the previous page
  -json
    	print JSON (durations in ms; payloads in full with -payload)
  -limit N
    	N messages per page, 1 to 1000 (default 100)
  -payload
    	show the payloads
  -width N
    	cut payloads to N characters (0: whole) (default 60)

global flags: -redis URL, -cluster ADDRS, -prefix PREFIX, -timeout D (see 'redghost help')
`, "")
	}
	r := runCLI(t, "", "help", "dead")
	for _, name := range []string{"dead list", "dead requeue", "dead purge"} {
		if r.code != 0 || !strings.Contains(r.stdout, "usage: redghost "+name+" ") {
			t.Errorf("help dead: exit %d, no %q in:\n%s", r.code, name, r.stdout)
		}
	}
}

// Redis down: exit 1 and the client's error.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	r := runCLI(t, "", "-redis", "redis://"+addr+"/0", "stats", "q")
	if r.code != 1 || r.stdout != "" ||
		!strings.HasPrefix(r.stderr, `redghost: redisqueue: stats of "q": dial tcp `+addr+": ") ||
		!strings.HasSuffix(r.stderr, "connection refused\n") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// A server that never answers: each call gives up after -timeout, exit 1.
func TestTimeout(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // accept and hold connections without a word
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() { _ = l.Close(); <-done }()

	start := time.Now()
	r := runCLI(t, "", "-redis", "redis://"+l.Addr().String()+"/0", "-timeout", "200ms", "status", "q", "m")
	if r.code != 1 || r.stdout != "" || !strings.HasSuffix(r.stderr, " (no answer within -timeout 200ms)\n") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with -timeout 200ms", d)
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args, pos []string
		n         int
		yes       bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, 1, false},
		{[]string{"-n", "3", "a", "-yes", "b"}, []string{"a", "b"}, 3, true},
		{[]string{"a", "-n=4", "b", "-yes"}, []string{"a", "b"}, 4, true},
		{[]string{"a", "--", "-yes", "-n"}, []string{"a", "-yes", "-n"}, 1, false},
		{[]string{"-", "a"}, []string{"-", "a"}, 1, false},
		{nil, nil, 1, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		n := fs.Int("n", 1, "")
		yes := fs.Bool("yes", false, "")
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || !slices.Equal(pos, c.pos) || *n != c.n || *yes != c.yes {
			t.Errorf("%q: %q n=%d yes=%v %v; want %q n=%d yes=%v", c.args, pos, *n, *yes, err, c.pos, c.n, c.yes)
		}
	}
}
