package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redghost/redghost/internal/syncbuf"
)

var servingRE = regexp.MustCompile(`serving the web UI on (http://[^/]+/) \(([^)]+)\)`)

// serve runs "redghost serve" with args until the test ends and answers
// its base URL and a function that stops it and answers the exit code.
func (e *env) serve(t *testing.T, env map[string]string, args ...string) (string, *syncbuf.Buffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncbuf.Buffer{}
	code := make(chan int, 1)
	a := &app{g: defaultGlobals(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr,
		getenv: func(k string) string { return env[k] }}
	go func() {
		err := a.run(ctx, append([]string{"-redis", e.url, "-prefix", e.prefix, "serve", "-addr", "127.0.0.1:0"}, args...))
		a.close()
		code <- a.exit(err)
	}()
	stop := sync.OnceValue(func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
			return -1
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(stderr.String()); m != nil {
			t.Cleanup(func() { stop() })
			return m[1], stderr, stop
		}
		select {
		case c := <-code:
			t.Fatalf("serve exited %d: %s", c, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start: %s", stderr.String())
	return "", nil, nil
}

func httpGet(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedTwoQueues(e)
	base, stderr, stop := e.serve(t, nil)
	if !strings.Contains(stderr.String(), "(read-only)") || strings.Contains(stderr.String(), "warning") {
		t.Errorf("stderr: %q", stderr.String())
	}
	code, body := httpGet(t, base, "", "")
	if code != 200 || !strings.Contains(body, `<a href="queue?name=orders">orders</a>`) {
		t.Fatalf("queues page: %d\n%s", code, body)
	}
	code, body = httpGet(t, base+"message?queue=orders&id=o2", "", "")
	if code != 200 || !strings.Contains(body, "Not in the queue any more: it failed and is kept as a dead letter.") ||
		!strings.Contains(body, "Payloads are hidden") {
		t.Fatalf("message page: %d\n%s", code, body)
	}
	resp, err := http.Post(base+"purge", "application/x-www-form-urlencoded", strings.NewReader("queue=orders"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST purge, read-only: %d, want 403", resp.StatusCode)
	}
	if c := stop(); c != 0 {
		t.Errorf("exit %d after the interrupt", c)
	}
}

func TestServeBasicAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"flag": {nil, []string{"-basic-auth", "ops:s3cret:x", "-actions", "-payloads"}},
		"env":  {map[string]string{"REDGHOST_BASIC_AUTH": "ops:s3cret:x"}, []string{"-actions", "-payloads"}},
	} {
		t.Run(name, func(t *testing.T) {
			base, stderr, _ := e.serve(t, c.env, c.args...)
			if !strings.Contains(stderr.String(), "(actions on)") {
				t.Errorf("stderr: %q", stderr.String())
			}
			for _, cred := range [][2]string{{"", ""}, {"ops", "wrong"}, {"ops", "s3cret"}, {"other", "s3cret:x"}} {
				if code, _ := httpGet(t, base, cred[0], cred[1]); code != 401 {
					t.Errorf("%q: %d, want 401", cred, code)
				}
			}
			if code, body := httpGet(t, base, "ops", "s3cret:x"); code != 200 || !strings.Contains(body, "actions on · payloads shown") {
				t.Errorf("right credentials: %d\n%s", code, body)
			}
		})
	}
}

func TestServeUsage(t *testing.T) {
	t.Parallel()
	const syn = "usage: redghost serve [-addr HOST:PORT] [-basic-auth USER:PASS] [-actions] [-payloads] [-jaeger URL] [-refresh D]\nrun 'redghost help serve' for details\n"
	runCLI(t, "", "serve", "-basic-auth", "nopass").want(t, 2, "", "redghost: -basic-auth: want USER:PASS, both non-empty\n"+syn)
	runCLI(t, "", "serve", "-basic-auth", ":p").want(t, 2, "", "redghost: -basic-auth: want USER:PASS, both non-empty\n"+syn)
	runCLI(t, "", "serve", "-jaeger", "localhost:16686").want(t, 2, "", `redghost: -jaeger: want an http or https URL, got "localhost:16686"`+"\n"+syn)
	runCLI(t, "", "serve", "-refresh", "1ms").want(t, 2, "", "redghost: -refresh: want at least 100ms, got 1ms\n"+syn)
	runCLI(t, "", "serve", "-addr", "8080").want(t, 2, "", `redghost: -addr "8080": address 8080: missing port in address`+"\n"+syn)
	runCLI(t, "", "serve", "x").want(t, 2, "", `redghost: serve: takes no arguments, got "x"`+"\n"+syn)
}
