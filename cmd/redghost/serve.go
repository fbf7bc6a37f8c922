package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/web"
)

var serveCmd = &command{
	name:    "serve",
	args:    "[-addr HOST:PORT] [-basic-auth USER:PASS] [-actions] [-payloads] [-jaeger URL] [-refresh D]",
	pos:     "",
	summary: "the web UI: queues, messages and why, dead letters, workers, schedules",
	detail: `Serves the web UI of the queues under -prefix until interrupted: every queue
with its counts and its oldest waiting message, refreshed live; a queue's
messages by status; a message's status in plain words (as 'redghost why'
prints it), its headers and, with -payloads, its payload, with a link to its
trace in Jaeger (-jaeger); dead letters; the running workers; the registered
schedules. With -actions you can pause and resume queues, cancel messages,
requeue and purge dead letters, and clear queues. Without it the UI only
reads.

It listens on the loopback address by default. On any other, put it behind
authentication: -basic-auth asks every request for that user and password
(or set $REDGHOST_BASIC_AUTH, which keeps the password out of the process
list); it travels in clear over plain HTTP, so across a network put a TLS
proxy in front. Each request's Redis calls share the -timeout limit.`,
	flags: func(fs *flag.FlagSet) action {
		addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
		auth := fs.String("basic-auth", "", "require HTTP basic auth with `USER:PASS` (default $REDGHOST_BASIC_AUTH)")
		actions := fs.Bool("actions", false, "allow pause, resume, cancel, requeue, purge and clear (POST with a CSRF token)")
		payloads := fs.Bool("payloads", false, "show message payloads")
		jaeger := fs.String("jaeger", "", "link traces to the Jaeger UI at `URL` (e.g. http://localhost:16686)")
		refresh := fs.Duration("refresh", web.DefaultRefresh, "how often the queues page reads the counts again")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usagef("serve: takes no arguments, got %q", args[0])
			}
			if _, _, err := net.SplitHostPort(*addr); err != nil {
				return usagef("-addr %q: %v", *addr, err)
			}
			creds := *auth
			if creds == "" {
				creds = a.getenv("REDGHOST_BASIC_AUTH")
			}
			user, pass, hasAuth := strings.Cut(creds, ":")
			if creds != "" && (!hasAuth || user == "" || pass == "") {
				return usagef("-basic-auth: want USER:PASS, both non-empty")
			}
			ui, err := web.New(a.b,
				web.WithActions(*actions), web.WithPayloads(*payloads),
				web.WithJaegerURL(*jaeger), web.WithRefresh(*refresh))
			if err != nil {
				var ie *core.InvalidError
				if errors.As(err, &ie) {
					flagName := map[string]string{"WithJaegerURL": "-jaeger", "WithRefresh": "-refresh"}[ie.Field]
					return usagef("%s: %s", flagName, ie.Reason)
				}
				return err
			}
			var h http.Handler = ui
			if a.g.timeout > 0 {
				h = withTimeout(h, a.g.timeout)
			}
			if creds != "" {
				h = basicAuth(h, user, pass)
			}
			l, err := net.Listen("tcp", *addr)
			if err != nil {
				return err
			}
			mode := "read-only"
			if *actions {
				mode = "actions on"
			}
			fmt.Fprintf(a.stderr, "redghost: serving the web UI on http://%s/ (%s)\n", l.Addr(), mode)
			if creds == "" && !loopback(l.Addr()) {
				fmt.Fprintln(a.stderr, "redghost: warning: not a loopback address and no -basic-auth: whoever reaches it can read the queues")
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(l) }()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err = srv.Shutdown(sctx)
			<-done
			return err
		}
	},
}

func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// withTimeout gives each request's backend calls the -timeout limit.
func withTimeout(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// basicAuth asks every request for user and pass, compared in constant
// time (as hashes, so that the lengths do not show either).
func basicAuth(next http.Handler, user, pass string) http.Handler {
	want := sha256.Sum256([]byte(user + "\x00" + pass))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(u + "\x00" + p))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="redghost", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
