package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
	"github.com/redghost/redghost/internal/text"
)

func TestMain(m *testing.M) { redistest.Main(m) }

var prefixes atomic.Int64

// onBackends runs fn on the in-memory backend and on real Redis (the
// package's shared server, a key prefix per run).
func onBackends(t *testing.T, fn func(t *testing.T, b core.Backend)) {
	t.Run("memqueue", func(t *testing.T) {
		t.Parallel()
		clk := queuetest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		b, err := memqueue.New(memqueue.WithClock(clk))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, b)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Shared(t)
		b, err := redisqueue.New(srv.Client(t), redisqueue.WithPrefix(fmt.Sprintf("web%d", prefixes.Add(1))))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, b)
	})
}

// ui is a handler under test, mounted at /admin/ behind http.StripPrefix,
// and a browser for it (with a cookie jar, not following redirects).
type ui struct {
	t      *testing.T
	h      *Handler
	b      core.Backend
	srv    *httptest.Server
	client *http.Client
}

func newUI(t *testing.T, b core.Backend, opts ...Option) *ui {
	t.Helper()
	h, err := New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(client.CloseIdleConnections)
	return &ui{t: t, h: h, b: b, srv: srv, client: client}
}

type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (u *ui) do(req *http.Request) response {
	u.t.Helper()
	resp, err := u.client.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return response{resp.StatusCode, string(body), resp.Header.Get("Location"), resp.Header}
}

// get reads the page at path, relative to the mount point ("queue?name=q").
func (u *ui) get(path string) response {
	u.t.Helper()
	req, err := http.NewRequest("GET", u.srv.URL+"/admin/"+path, nil)
	if err != nil {
		u.t.Fatal(err)
	}
	return u.do(req)
}

// post sends form to the action at path.
func (u *ui) post(path string, form url.Values) response {
	u.t.Helper()
	req, err := http.NewRequest("POST", u.srv.URL+"/admin/"+path, strings.NewReader(form.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

var (
	tokenRE     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaTokenRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// otherToken is tok with its first character changed: a token of the
// right shape that does not match. (Putting "x" first would leave a token
// that starts with "x" unchanged, one run in 64.)
func otherToken(tok string) string {
	if strings.HasPrefix(tok, "x") {
		return "y" + tok[1:]
	}
	return "x" + tok[1:]
}

// token reads a page and answers the CSRF token its scripts would send
// (the page also sets the browser's cookie). With the actions off, no
// page shows one: it is computed from the cookie as the handler would.
func (u *ui) token() string {
	u.t.Helper()
	r := u.get("")
	if m := metaTokenRE.FindStringSubmatch(r.body); m != nil {
		return m[1]
	}
	if u.h.cfg.actions {
		u.t.Fatalf("no CSRF token on the queues page:\n%s", r.body)
	}
	base, _ := url.Parse(u.srv.URL + "/admin/")
	for _, c := range u.client.Jar.Cookies(base) {
		if c.Name == csrfCookie {
			return u.h.csrf.token(c.Value)
		}
	}
	u.t.Fatal("no CSRF cookie")
	return ""
}

func (r response) want(t *testing.T, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("the page does not hold %q; body:\n%s", p, r.body)
		}
	}
}

func (r response) wantNot(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(r.body, p) {
			t.Errorf("the page holds %q; body:\n%s", p, r.body)
		}
	}
}

// seed fills queue "orders": o1 queued, o2 locked, o3 with a backoff, o4
// done with a hold, and dead letters d1 and d2 (d2 the newest).
func seed(t *testing.T, b core.Backend) {
	t.Helper()
	ctx := t.Context()
	pub := core.NewPublisher(b)
	enq := func(id, payload string, opts ...core.EnqueueOption) {
		t.Helper()
		r, err := pub.Enqueue(ctx, "orders", []byte(payload), append(opts, core.WithID(id))...)
		if err != nil || r.Err != nil {
			t.Fatalf("enqueue %s: %v %v", id, err, r.Err)
		}
	}
	take := func(n int) []core.Delivery {
		t.Helper()
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "orders", Max: n, Lock: time.Hour})
		if err != nil || len(res.Messages) != n {
			t.Fatalf("dequeue %d: %v %d", n, err, len(res.Messages))
		}
		return res.Messages
	}
	ack := func(a core.Ack) {
		t.Helper()
		if errs, err := b.Ack(ctx, "orders", []core.Ack{a}); err != nil || errs[0] != nil {
			t.Fatalf("ack %s: %v %v", a.ID, err, errs)
		}
	}
	enq("d1", `{"n":"d1"}`)
	enq("d2", `{"n":"d2"}`)
	for _, d := range take(2) {
		ack(core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "card declined: " + d.ID})
	}
	enq("o2", `{"n":2}`, core.WithHeader("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	enq("o4", `{"n":4}`)
	ds := take(2)
	ack(core.Ack{ID: ds[1].ID, Token: ds[1].Token, Outcome: core.OutcomeSuccess, Backoff: time.Hour})
	enq("o1", `{"n":1,"tags":["a","b"]}`, core.WithHeader("tenant", "acme"))
	enq("o3", "not json", core.WithDelay(time.Hour))
}

func TestNewRefusesBadOptions(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt   Option
		field string
	}{
		{WithJaegerURL("localhost:16686"), "WithJaegerURL"},
		{WithJaegerURL("ftp://jaeger"), "WithJaegerURL"},
		{WithJaegerURL("http://"), "WithJaegerURL"},
		{WithJaegerURL("http://jaeger/?x=1"), "WithJaegerURL"},
		{WithRefresh(10 * time.Millisecond), "WithRefresh"},
		{WithPageSize(0), "WithPageSize"},
		{WithPageSize(MaxPageSize + 1), "WithPageSize"},
		{WithLogger(nil), "WithLogger"},
		{WithTitle(" "), "WithTitle"},
	} {
		_, err := New(b, c.opt)
		var ie *core.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: got %v, want an *InvalidError for %s", c.field, err, c.field)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil): no error")
	}
	if _, err := New(b, WithJaegerURL("https://jaeger.example/ui/"), WithRefresh(time.Second), WithPageSize(MaxPageSize)); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestQueuesPage(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		u := newUI(t, b)
		u.get("").want(t, 200, "No queue holds messages or dead letters.")
		seed(t, b)
		r := u.get("")
		r.want(t, 200,
			`<tr data-queue="orders">`, `<a href="queue?name=orders">orders</a>`,
			`data-col="queued">1<`, `data-col="locked">1<`, `data-col="backoff">1<`, `data-col="done">1<`,
			`data-col="total">4<`, `<a class="dead" href="dead?queue=orders">2</a>`,
			`data-src="rows" data-refresh="2000"`, `<script src="app.js" defer></script>`)
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		// The fragment the page reads again holds the rows alone.
		rows := u.get("rows")
		rows.want(t, 200, `<tr data-queue="orders">`, `data-col="total">4<`)
		rows.wantNot(t, "<html", "<table")
	})
}

// Rates come from successive readings at least minGap apart; closer ones
// keep the last rate.
func TestQueuesRates(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, b)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u.h.now = func() time.Time { return now }
	pub := core.NewPublisher(b)
	send := func(n int) {
		for range n {
			if _, err := pub.Enqueue(t.Context(), "q", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(10)
	u.get("rows").want(t, 200, `data-col="total-rate">–<`)
	send(20)
	now = now.Add(2 * time.Second)
	u.get("rows").want(t, 200, `data-col="total-rate">&#43;10/s<`, `data-col="dead-rate">0/s<`)
	res, err := b.Dequeue(t.Context(), core.DequeueParams{Queue: "q", Max: 30, Lock: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var acks []core.Ack
	for _, d := range res.Messages[:3] {
		acks = append(acks, core.Ack{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "x"})
	}
	if _, err := b.Ack(t.Context(), "q", acks); err != nil {
		t.Fatal(err)
	}
	now = now.Add(100 * time.Millisecond) // too soon: the last rate stays
	u.get("rows").want(t, 200, `data-col="total-rate">&#43;10/s<`)
	now = now.Add(900 * time.Millisecond)
	u.get("rows").want(t, 200, `data-col="total-rate">−3.0/s<`, `data-col="dead-rate">&#43;3.0/s<`)
}

func TestQueuePage(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		seed(t, b)
		u := newUI(t, b)
		r := u.get("queue?name=orders")
		r.want(t, 200, "total <b>4</b>", `href="dead?queue=orders">dead letters <b>2</b>`,
			`<a href="message?queue=orders&amp;id=o1">o1</a>`, `<span class="status s-locked">locked</span>`,
			`<span class="status s-queued-with-backoff">queued-with-backoff</span>`,
			`<span class="status s-done-with-backoff">done-with-backoff</span>`, `<td class="n">1 h</td>`)
		r.wantNot(t, "Clear this queue") // actions off

		locked := u.get("queue?name=orders&status=locked")
		locked.want(t, 200, `id=o2">o2</a>`, `class="on">locked</a>`)
		locked.wantNot(t, `id=o1"`, `id=o3"`, `id=o4"`)

		// Pages of two, followed to the end, list every message once.
		small := newUI(t, b, WithPageSize(2))
		seen := map[string]int{}
		link := "queue?name=orders"
		for pages := 0; link != ""; pages++ {
			if pages > 4 {
				t.Fatal("more pages than messages")
			}
			p := small.get(link)
			p.want(t, 200)
			for _, m := range regexp.MustCompile(`id=(o\d)">`).FindAllStringSubmatch(p.body, -1) {
				seen[m[1]]++
			}
			link = ""
			if m := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(p.body); m != nil {
				link = html.UnescapeString(m[1])
			}
		}
		if len(seen) != 4 || seen["o1"] != 1 || seen["o2"] != 1 || seen["o3"] != 1 || seen["o4"] != 1 {
			t.Errorf("pages listed %v, want o1 to o4 once each", seen)
		}

		u.get("queue?name=orders&status=bogus").want(t, 400, "Unknown status filter")
		u.get("queue?name=").want(t, 400, "Invalid queue")
		u.get("queue?name=nosuch").want(t, 200, "No messages.")
	})
}

func TestMessagePage(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		seed(t, b)
		u := newUI(t, b)
		for _, id := range []string{"o1", "o2", "o3", "o4", "d1", "nosuch"} {
			e, err := core.Explain(t.Context(), b, "orders", id)
			if err != nil {
				t.Fatal(err)
			}
			r := u.get("message?queue=orders&id=" + id)
			r.want(t, 200, `<span class="status s-`+e.State()+`">`+e.State()+`</span>`)
			for _, s := range e.Why {
				if strings.Contains(s, " in ") || strings.Contains(s, " more ") {
					continue // the time left moves on a real clock
				}
				r.want(t, 200, "<li>"+html.EscapeString(s)+"</li>")
			}
		}
		r := u.get("message?queue=orders&id=o2")
		r.want(t, 200, "Locked by a handler (attempt 1); the lock expires in",
			"<tr><th>Attempts</th><td>1</td></tr>",
			`<code>4bf92f3577b34da6a3ce929d0e0e4736</code>`, // no Jaeger URL: no link
			"Payloads are hidden")
		r.wantNot(t, `{&#34;n&#34;:2}`, "&#34;n&#34;: 2")
		u.get("message?queue=orders&id=o1").want(t, 200, "<tr><th>tenant</th><td>acme</td></tr>")
		u.get("message?queue=orders&id=d1").want(t, 200, "Dead letter: failed at", `<pre class="err">card declined: d1</pre>`)
		u.get("message?queue=orders&id=bad%01").want(t, 400, "Invalid id")

		// With payloads and Jaeger.
		p := newUI(t, b, WithPayloads(true), WithJaegerURL("http://jaeger.local:16686/"))
		p.get("message?queue=orders&id=o2").want(t, 200,
			`<a id="trace-link" href="http://jaeger.local:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736" rel="noreferrer noopener" target="_blank">`,
			"<pre class=\"payload\">{\n  &#34;n&#34;: 2\n}</pre>", "7 bytes, JSON")
		p.get("message?queue=orders&id=o3").want(t, 200, `<pre class="payload">not json</pre>`)
		p.get("message?queue=orders&id=d2").want(t, 200, "Dead letter's payload", "&#34;n&#34;: &#34;d2&#34;")
	})
}

func TestTraceID(t *testing.T) {
	for h, want := range map[string]string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":      "4bf92f3577b34da6a3ce929d0e0e4736",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01":      "",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01":      "",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01":      "",
		"00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01":        "",
		"00-4bf92f3577b34da6a3ce929d0e0e4736/../x-00f067aa0ba902b7-01": "",
		"": "",
	} {
		if got := traceID(h); got != want {
			t.Errorf("traceID(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestDeadPageAndActions(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		seed(t, b)
		ro := newUI(t, b)
		r := ro.get("dead?queue=orders")
		r.want(t, 200, `<tr data-id="d2">`, `<pre class="err">card declined: d1</pre>`, "2 dead letters, newest first.")
		r.wantNot(t, "Requeue", "Purge", `name="csrf"`, "csrf-token")
		if strings.Index(r.body, `data-id="d2"`) > strings.Index(r.body, `data-id="d1"`) {
			t.Error("d1 listed before d2; want newest first")
		}
		// Actions off: refused even with a good token.
		tok := ro.token()
		ro.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}, "id": {"d1"}}).want(t, 403, "Actions are off")

		u := newUI(t, b, WithActions(true))
		r = u.get("dead?queue=orders")
		r.want(t, 200, `<input type="checkbox" name="id" value="d1">`, "Requeue selected", "Requeue all…", "Purge all…")
		tok = tokenRE.FindStringSubmatch(r.body)[1]

		// CSRF: no token, a bad one, another handler's, none of them acts.
		other := newUI(t, b, WithActions(true))
		otherTok := other.token()
		for name, form := range map[string]url.Values{
			"no token":               {"queue": {"orders"}, "id": {"d1"}},
			"bad token":              {"queue": {"orders"}, "id": {"d1"}, "csrf": {otherToken(tok)}},
			"another process' token": {"queue": {"orders"}, "id": {"d1"}, "csrf": {otherTok}},
		} {
			r := u.post("requeue", form)
			if r.status != 403 || !strings.Contains(r.body, "CSRF") {
				t.Errorf("%s: status %d, want 403", name, r.status)
			}
		}
		// A token without the cookie it was made for is refused too.
		req, _ := http.NewRequest("POST", u.srv.URL+"/admin/requeue", strings.NewReader(url.Values{"csrf": {tok}, "queue": {"orders"}, "id": {"d1"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
			t.Errorf("a token without its cookie: %v %v", resp.Status, err)
		} else {
			resp.Body.Close()
		}
		if st, _ := b.QueueStats(t.Context(), "orders"); st.Dead != 2 {
			t.Fatalf("after refused requests: %d dead letters, want 2", st.Dead)
		}
		// GET on an action is not allowed.
		u.get("requeue?queue=orders&id=d1").want(t, 405)

		// Requeue one: it leaves the list and is queued again.
		r = u.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}, "id": {"d1"}})
		if r.status != 303 || r.location != "dead?asked=1&queue=orders&requeued=1" {
			t.Fatalf("requeue: status %d location %q", r.status, r.location)
		}
		u.get(r.location).want(t, 200, `<p class="flash" role="status">Requeued 1 dead letter.</p>`, "1 dead letters")
		if st, _ := b.MessageStatus(t.Context(), "orders", "d1"); st != core.StatusQueued {
			t.Fatalf("d1 after requeue: %s", st)
		}
		// The header token works as the form field does.
		req, _ = http.NewRequest("POST", u.srv.URL+"/admin/requeue", strings.NewReader(url.Values{"queue": {"orders"}, "id": {"nosuch"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", tok)
		if r := u.do(req); r.status != 303 || r.location != "dead?asked=1&queue=orders&requeued=0" {
			t.Fatalf("requeue with the header token: %d %q", r.status, r.location)
		}
		u.get("dead?queue=orders&asked=1&requeued=0").want(t, 200, "Requeued 0 dead letters. 1 dead letter stayed")

		// Requeue all asks first; the confirmation acts.
		r = u.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}, "all": {"1"}})
		r.want(t, 200, "Requeue all 1 dead letter of &#34;orders&#34; as fresh messages?", `name="confirm" value="yes"`, `name="all" value="1"`)
		if st, _ := b.QueueStats(t.Context(), "orders"); st.Dead != 1 {
			t.Fatalf("the question requeued: %d dead letters", st.Dead)
		}
		r = u.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}, "all": {"1"}, "confirm": {"yes"}})
		if r.status != 303 || r.location != "dead?queue=orders&requeued=1" {
			t.Fatalf("requeue all: %d %q", r.status, r.location)
		}
		u.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}}).want(t, 400, "No dead letter selected.")
		u.post("requeue", url.Values{"csrf": {tok}, "queue": {"orders"}, "id": {"bad\x01"}}).want(t, 400, "Invalid id")

		// Purge asks, then purges.
		fail(t, b, "orders", "d3")
		u.post("purge", url.Values{"csrf": {tok}, "queue": {"orders"}}).want(t, 200, "Delete all 1 dead letter of &#34;orders&#34; for good?")
		r = u.post("purge", url.Values{"csrf": {tok}, "queue": {"orders"}, "confirm": {"yes"}})
		if r.status != 303 || r.location != "dead?purged=1&queue=orders" {
			t.Fatalf("purge: %d %q", r.status, r.location)
		}
		if st, _ := b.QueueStats(t.Context(), "orders"); st.Dead != 0 {
			t.Fatalf("after purge: %d dead letters", st.Dead)
		}

		// Clear asks, then clears.
		u.get("queue?name=orders").want(t, 200, "Clear this queue…")
		u.post("clear", url.Values{"csrf": {tok}, "queue": {"orders"}}).want(t, 200, "Delete every message")
		r = u.post("clear", url.Values{"csrf": {tok}, "queue": {"orders"}, "confirm": {"yes"}})
		if r.status != 303 || r.location != "dead?cleared=1&queue=orders" {
			t.Fatalf("clear: %d %q", r.status, r.location)
		}
		if st, _ := b.QueueStats(t.Context(), "orders"); st.Total != 0 {
			t.Fatalf("after clear: %+v", st)
		}
	})
}

// fail enqueues id and fails it: a dead letter.
func fail(t *testing.T, b core.Backend, queue, id string) {
	t.Helper()
	ctx := t.Context()
	if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: queue, ID: id, Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: 100, Lock: time.Minute})
		if err != nil || len(res.Messages) == 0 {
			t.Fatalf("dequeue %s: %v", id, err)
		}
		for _, d := range res.Messages {
			if d.ID == id {
				if _, err := b.Ack(ctx, queue, []core.Ack{{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: "failed"}}); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
}

// Everything that comes from the queues is escaped on every page.
func TestEscaping(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		const evil = `<script>alert("x")</script>`
		ctx := t.Context()
		_, err := b.Enqueue(ctx, []core.EnqueueRequest{
			{Queue: evil, ID: evil, Payload: []byte(evil), Headers: map[string]string{evil: evil}},
			{Queue: evil, ID: "dead" + evil, Payload: []byte(`{"k":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"}`), Headers: map[string]string{"traceparent": evil}},
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: evil, Max: 2, Lock: time.Minute})
		if err != nil || len(res.Messages) != 2 {
			t.Fatalf("dequeue: %v %d", err, len(res.Messages))
		}
		for _, d := range res.Messages {
			if d.ID != evil {
				if _, err := b.Ack(ctx, evil, []core.Ack{{ID: d.ID, Token: d.Token, Outcome: core.OutcomeError, Error: evil}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		u := newUI(t, b, WithPayloads(true), WithActions(true), WithJaegerURL("http://jaeger:16686"))
		q := url.QueryEscape(evil)
		pages := map[string]string{
			"queues":     "",
			"rows":       "rows",
			"queue":      "queue?name=" + q,
			"message":    "message?queue=" + q + "&id=" + q,
			"dead":       "dead?queue=" + q,
			"dead's why": "message?queue=" + q + "&id=" + url.QueryEscape("dead"+evil),
			"bad filter": "queue?name=" + q + "&status=" + q,
		}
		for name, p := range pages {
			r := u.get(p)
			if strings.Contains(r.body, "<script>alert") {
				t.Errorf("%s page: holds the raw script:\n%s", name, r.body)
			}
			if name != "bad filter" && !strings.Contains(r.body, "&lt;script&gt;alert(") {
				t.Errorf("%s page (%d): the escaped script is missing:\n%s", name, r.status, r.body)
			}
		}
		tok := u.token()
		for _, action := range []string{"purge", "clear"} {
			r := u.post(action, url.Values{"csrf": {tok}, "queue": {evil}})
			r.want(t, 200, "&lt;script&gt;alert(")
			r.wantNot(t, "<script>alert")
		}
		r := u.post("requeue", url.Values{"csrf": {tok}, "queue": {evil}, "id": {"dead" + evil}})
		if r.status != 303 || !strings.HasPrefix(r.location, "dead?") || strings.ContainsAny(r.location, "<>\"") {
			t.Fatalf("requeue: %d %q", r.status, r.location)
		}
	})
}

// The handler works under any prefix: behind http.StripPrefix, under a
// mux pattern, at the root; and answers bad methods and paths plainly.
func TestMounting(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	seed(t, b)
	h, err := New(b, WithActions(true))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/strip/", http.StripPrefix("/strip", h))
	mux.Handle("/deep/er/", h)
	mux.Handle("/bare", http.StripPrefix("/bare", h))
	root := httptest.NewServer(h)
	defer root.Close()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for _, base := range []string{srv.URL + "/strip/", srv.URL + "/deep/er/", root.URL + "/"} {
		resp, body := get(base)
		if resp.StatusCode != 200 || !strings.Contains(body, `<a href="queue?name=orders">`) {
			t.Fatalf("%s: %d", base, resp.StatusCode)
		}
		// The cookie is for the mount directory alone.
		if c := resp.Cookies(); len(c) != 1 || c[0].Path != strings.TrimPrefix(base, srv.URL) && c[0].Path != strings.TrimPrefix(base, root.URL) || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
			t.Errorf("%s: cookies %v", base, c)
		}
		// Every relative link of the pages resolves to a page that answers.
		for _, rel := range []string{"queue?name=orders", "message?queue=orders&id=o1", "dead?queue=orders", "rows", "app.js", "style.css"} {
			resp, _ := get(base + rel)
			if resp.StatusCode != 200 {
				t.Errorf("%s%s: %d", base, rel, resp.StatusCode)
			}
		}
		resp, _ = get(base + "app.js")
		if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("app.js: Content-Type %q", ct)
		}
		if resp, _ := get(base + "nosuch"); resp.StatusCode != 404 {
			t.Errorf("%snosuch: %d, want 404", base, resp.StatusCode)
		}
		resp, err := client.Post(base+"queue?name=orders", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("POST to a page: %d, want 405", resp.StatusCode)
		}
		resp, err = client.Post(base+"app.js", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("POST to app.js: %d, want 405", resp.StatusCode)
		}
	}
	// Without the trailing slash, the relative links would miss: redirect.
	resp, _ := get(srv.URL + "/bare")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "bare/" {
		t.Errorf("/bare: %d to %q, want 301 to bare/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A backend error is a 502 page that says so, not a crash.
func TestBackendError(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, failing{b})
	u.get("").want(t, 502, "The backend failed: redis down")
	u.get("dead?queue=q").want(t, 502, "The backend failed: redis down")
}

type failing struct{ core.Backend }

func (failing) QueueNames(context.Context) ([]string, error) { return nil, errors.New("redis down") }
func (failing) QueueStats(context.Context, string) (core.QueueStats, error) {
	return core.QueueStats{}, errors.New("redis down")
}

// Filtered pages of two, followed to the end, list every matching message
// once, though a chunk of the listing holds many more matches.
func TestQueuePageFilteredPaging(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		ctx := t.Context()
		var reqs []core.EnqueueRequest
		for i := range 12 {
			reqs = append(reqs, core.EnqueueRequest{Queue: "f", ID: fmt.Sprintf("m%02d", i), Payload: []byte("x")})
		}
		if _, err := b.Enqueue(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: "f", Max: 7, Lock: time.Hour})
		if err != nil || len(res.Messages) != 7 {
			t.Fatalf("dequeue: %v %d", err, len(res.Messages))
		}
		u := newUI(t, b, WithPageSize(2))
		idRE := regexp.MustCompile(`id=(m\d+)">`)
		nextRE := regexp.MustCompile(`rel="next" href="([^"]+)"`)
		for filter, want := range map[string]int{"locked": 7, "queued": 5, "done": 0} {
			seen := map[string]int{}
			link := "queue?name=f&status=" + filter
			for pages := 0; link != ""; pages++ {
				if pages > 8 {
					t.Fatalf("%s: too many pages", filter)
				}
				p := u.get(link)
				p.want(t, 200)
				ids := idRE.FindAllStringSubmatch(p.body, -1)
				if len(ids) > 2 {
					t.Fatalf("%s: %d messages on a page of 2", filter, len(ids))
				}
				for _, m := range ids {
					seen[m[1]]++
				}
				link = ""
				if m := nextRE.FindStringSubmatch(p.body); m != nil {
					link = html.UnescapeString(m[1])
				}
			}
			n := 0
			for id, c := range seen {
				st, _ := b.MessageStatus(ctx, "f", id)
				if c != 1 || (filter == "locked") != (st == core.StatusLocked) {
					t.Errorf("%s: %s listed %d times, status %s", filter, id, c, st)
				}
				n++
			}
			if n != want {
				t.Errorf("%s: %d messages listed, want %d", filter, n, want)
			}
		}
		u.get("queue?name=f&status=locked&skip=-1").want(t, 400, "skip must be")
	})
}

// viewPayload reads only the head of a large payload; what it shows is
// what quoting or copying the whole payload and cutting it would show.
func TestViewPayloadOfALargePayload(t *testing.T) {
	t.Parallel()
	whole := func(p []byte) payloadView {
		v := payloadView{Size: len(p), Empty: len(p) == 0}
		var buf bytes.Buffer
		switch {
		case len(p) <= maxPayloadView && json.Valid(p) && json.Indent(&buf, p, "", "  ") == nil:
			v.Text, v.Kind = buf.String(), "json"
		case utf8.Valid(p):
			v.Text, v.Kind = string(p), "text"
		default:
			s := strconv.QuoteToASCII(string(p))
			v.Text, v.Kind = s[1:len(s)-1], "binary"
		}
		if len(v.Text) > maxPayloadView {
			v.Text, v.Cut = text.TruncateUTF8(v.Text, maxPayloadView), true
		}
		return v
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{maxPayloadView - 1, maxPayloadView, maxPayloadView + 1, maxPayloadView + 4, 2 * maxPayloadView} {
		for _, unit := range []string{"a", "€", "😀", "\xff"} {
			for shift := range 4 {
				p := []byte(strings.Repeat("z", shift) + strings.Repeat(unit, n/len(unit)+1))[:n]
				if got, want := viewPayload(p), whole(p); got != want {
					t.Fatalf("%d bytes of %q shifted by %d: %+v..., want %+v...", n, unit, shift, got.Kind, want.Kind)
				}
			}
		}
		// ASCII up to about the cut, then a character that straddles
		// it, then a byte that is not UTF-8.
		for k := maxPayloadView - 6; k <= maxPayloadView+1; k++ {
			for _, r := range []string{"é", "€", "😀", ""} {
				p := []byte(strings.Repeat("a", k) + r + "\xff")
				if got, want := viewPayload(p), whole(p); got != want {
					t.Fatalf("%d ASCII bytes, %q, a byte not UTF-8: %.20q (cut %v), want %.20q (cut %v)",
						k, r, got.Text[len(got.Text)-10:], got.Cut, want.Text[len(want.Text)-10:], want.Cut)
				}
			}
		}
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		if got, want := viewPayload(p), whole(p); got != want {
			t.Fatalf("%d random bytes: not what the whole payload shows", n)
		}
	}
}
