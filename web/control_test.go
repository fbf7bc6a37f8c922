package web

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/memqueue"
	"github.com/redghost/redghost/core/queuetest"
)

func paused(t *testing.T, b core.Backend, queue string) bool {
	t.Helper()
	st, err := b.QueueStats(t.Context(), queue)
	if err != nil {
		t.Fatal(err)
	}
	return st.Paused
}

func TestPauseResume(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		seed(t, b)
		ro := newUI(t, b)
		r := ro.get("")
		r.want(t, 200, `title="How long the longest-waiting queued message has been ready to handle`, `data-col="oldest">`)
		r.wantNot(t, `action="pause"`, "data-paused")
		ro.get("queue?name=orders").wantNot(t, "Pause this queue", `id="paused"`)

		u := newUI(t, b, WithActions(true))
		u.get("").want(t, 200, `<form class="inline" method="post" action="pause">`, `<input type="hidden" name="queue" value="orders">`, `data-action="pause">Pause</button>`)
		tok := u.token()

		// Refused: no token, a bad one, actions off, a GET. Nothing pauses.
		u.post("pause", url.Values{"queue": {"orders"}}).want(t, 403, "CSRF")
		u.post("pause", url.Values{"queue": {"orders"}, "csrf": {otherToken(tok)}}).want(t, 403, "CSRF")
		ro.post("pause", url.Values{"queue": {"orders"}, "csrf": {ro.token()}}).want(t, 403, "Actions are off")
		u.get("pause?queue=orders").want(t, 405)
		if paused(t, b, "orders") {
			t.Fatal("a refused pause paused the queue")
		}
		u.post("pause", url.Values{"queue": {""}, "csrf": {tok}}).want(t, 400, "Invalid queue")

		// Pause from the queues page: back to it, with the marker and a
		// resume button.
		r = u.post("pause", url.Values{"queue": {"orders"}, "csrf": {tok}})
		if r.status != 303 || r.location != "./" {
			t.Fatalf("pause: %d %q", r.status, r.location)
		}
		if !paused(t, b, "orders") {
			t.Fatal("orders is not paused")
		}
		for _, p := range []string{"", "rows"} {
			u.get(p).want(t, 200, `<tr data-queue="orders" data-paused="1">`, `<span class="tag paused" data-col="paused"`,
				`<form class="inline" method="post" action="resume">`, `data-action="resume">Resume</button>`)
		}
		ro.get("rows").want(t, 200, `<span class="tag paused" data-col="paused"`)
		ro.get("queue?name=orders").want(t, 200, `<p class="paused-note" id="paused">`)
		u.get("queue?name=orders").want(t, 200, `<p class="paused-note" id="paused">`, `action="resume"`,
			`<input type="hidden" name="back" value="queue">`, "Resume this queue")

		// Resume from the queue's page: back to it.
		u.post("resume", url.Values{"queue": {"orders"}}).want(t, 403, "CSRF")
		if !paused(t, b, "orders") {
			t.Fatal("a refused resume resumed the queue")
		}
		r = u.post("resume", url.Values{"queue": {"orders"}, "csrf": {tok}, "back": {"queue"}})
		if r.status != 303 || r.location != "queue?name=orders" {
			t.Fatalf("resume: %d %q", r.status, r.location)
		}
		if paused(t, b, "orders") {
			t.Fatal("orders is still paused")
		}
		u.get("queue?name=orders").want(t, 200, "Pause this queue")
		u.get("").wantNot(t, "data-paused")
	})
}

// The oldest column reads QueueStats.OldestReady in plain words.
func TestQueuesOldest(t *testing.T) {
	clk := queuetest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := memqueue.New(memqueue.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, b)
	if _, err := core.NewPublisher(b).Enqueue(t.Context(), "q", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := core.NewPublisher(b).Enqueue(t.Context(), "later", []byte("x"), core.WithDelay(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2*time.Minute + 5*time.Second)
	r := u.get("rows")
	r.want(t, 200, `data-col="oldest">2 min 5 s<`)
	if !strings.Contains(r.body[strings.Index(r.body, `data-queue="later"`):], `data-col="oldest">–<`) {
		t.Errorf("a queue with nothing ready shows an age:\n%s", r.body)
	}
}

func TestCancel(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		seed(t, b)
		ctx := t.Context()
		ro := newUI(t, b)
		ro.get("message?queue=orders&id=o1").wantNot(t, "Cancel this message")
		ro.post("cancel", url.Values{"queue": {"orders"}, "id": {"o1"}, "csrf": {ro.token()}, "confirm": {"yes"}}).want(t, 403, "Actions are off")

		u := newUI(t, b, WithActions(true))
		u.get("message?queue=orders&id=o1").want(t, 200, `<form class="cancel" method="post" action="cancel">`, `<input type="hidden" name="id" value="o1">`, "Cancel this message…")
		u.get("message?queue=orders&id=o4").wantNot(t, "Cancel this message") // done: nothing to cancel
		u.get("message?queue=orders&id=d1").wantNot(t, "Cancel this message") // dead
		tok := u.token()

		// Refused without a token, on GET; nothing cancelled.
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o1"}, "confirm": {"yes"}}).want(t, 403, "CSRF")
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o1"}, "confirm": {"yes"}, "csrf": {tok + "x"}}).want(t, 403, "CSRF")
		u.get("cancel?queue=orders&id=o1&confirm=yes").want(t, 405)
		if st, _ := b.MessageStatus(ctx, "orders", "o1"); st != core.StatusQueued {
			t.Fatalf("o1 after refused cancels: %s", st)
		}

		// A queued message: asked, then removed.
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o1"}, "csrf": {tok}}).want(t, 200,
			"Cancel message &#34;o1&#34; of &#34;orders&#34;? It is queued: it is removed from the queue and never handled.",
			`<input type="hidden" name="id" value="o1">`, `name="confirm" value="yes"`, `<a href="message?id=o1&amp;queue=orders">Cancel</a>`)
		if st, _ := b.MessageStatus(ctx, "orders", "o1"); st != core.StatusQueued {
			t.Fatalf("the question cancelled o1: %s", st)
		}
		r := u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o1"}, "csrf": {tok}, "confirm": {"yes"}})
		if r.status != 303 || r.location != "message?canceled=queued&id=o1&queue=orders" {
			t.Fatalf("cancel o1: %d %q", r.status, r.location)
		}
		u.get(r.location).want(t, 200, `<p class="flash" role="status">Cancelled: the message was removed from the queue; it is never handled.</p>`)
		if st, _ := b.MessageStatus(ctx, "orders", "o1"); st != core.StatusNone {
			t.Fatalf("o1 after its cancel: %s", st)
		}

		// A locked one: marked; the list, the page and the why say so.
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o2"}, "csrf": {tok}}).want(t, 200, "It is locked: its handler&#39;s context is cancelled")
		r = u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o2"}, "csrf": {tok}, "confirm": {"yes"}})
		if r.status != 303 || r.location != "message?canceled=locked&id=o2&queue=orders" {
			t.Fatalf("cancel o2: %d %q", r.status, r.location)
		}
		m := u.get(r.location)
		m.want(t, 200, "Cancelled: its worker is told at its next heartbeat",
			"<li>Cancelled: the worker&#39;s next heartbeat tells it",
			`<tr><th>Cancelled</th><td><span class="tag canceled">cancelled</span> while locked</td></tr>`)
		m.wantNot(t, "Cancel this message", "queued again and handled once more")
		u.get("queue?name=orders").want(t, 200, `<span class="status s-locked">locked</span> <span class="tag canceled">cancelled</span>`)

		// Nothing to cancel: a conflict, said plainly; done and unknown
		// words in the note parameter.
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"o4"}, "csrf": {tok}}).want(t, 409, "is done-with-backoff: there is nothing to cancel.")
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"nosuch"}, "csrf": {tok}}).want(t, 409, "is none: there is nothing to cancel.")
		r = u.post("cancel", url.Values{"queue": {"orders"}, "id": {"nosuch"}, "csrf": {tok}, "confirm": {"yes"}})
		u.get(r.location).want(t, 200, "Nothing to cancel: the queue held no message with this id.")
		u.get("message?queue=orders&id=o4&canceled=bogus").wantNot(t, `class="flash"`)
		u.post("cancel", url.Values{"queue": {"orders"}, "id": {"bad\x01"}, "csrf": {tok}}).want(t, 400, "Invalid id")
		u.post("cancel", url.Values{"queue": {"orders"}, "csrf": {tok}}).want(t, 400, "Invalid id")
	})
}

func TestMessageLimits(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		pub := core.NewPublisher(b)
		for id, opts := range map[string][]core.EnqueueOption{
			"both": {core.WithMaxAttempts(3), core.WithHandlingTimeout(90 * time.Second)},
			"max":  {core.WithMaxAttempts(5)},
			"none": nil,
		} {
			if _, err := pub.Enqueue(t.Context(), "q", []byte("x"), append(opts, core.WithID(id))...); err != nil {
				t.Fatal(err)
			}
		}
		u := newUI(t, b)
		q := u.get("queue?name=q")
		q.want(t, 200, `title="The message's own limits`, "<td>max 3 attempts · timeout 1 min 30 s</td>", "<td>max 5 attempts</td>", "<td>–</td>")
		u.get("message?queue=q&id=both").want(t, 200,
			"<tr><th>Max attempts</th><td>3 (its own)</td></tr>", "<tr><th>Handling timeout</th><td>1 min 30 s (its own)</td></tr>",
			"<li>Its own limits: at most 3 handlings")
		u.get("message?queue=q&id=none").wantNot(t, "Max attempts", "Handling timeout", "Its own limits")
	})
}

func TestWorkersPage(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		u := newUI(t, b)
		u.get("").want(t, 200, `<a href="workers">Workers</a>`)
		u.get("workers").want(t, 200, "No worker is running.", "0 running")
		started := time.Now().Add(-time.Hour).Truncate(time.Second)
		for _, w := range []core.WorkerInfo{
			{ID: "w-1", Host: "host-a", PID: 4242, Queues: []string{"orders", "emails"}, Concurrency: 8, InFlight: 3, StartedAt: started},
			{ID: "w-2", Host: "host-b", PID: 7, Queues: []string{"orders"}, Concurrency: 1, StartedAt: started},
		} {
			if err := b.RegisterWorker(t.Context(), w, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		r := u.get("workers")
		r.want(t, 200, "2 running", `<tr data-worker="w-1">`, `<td data-col="host">host-a</td>`, `data-col="pid">4242<`,
			`<td data-col="queues"><a href="queue?name=orders">orders</a>, <a href="queue?name=emails">emails</a></td>`,
			`data-col="concurrency">8<`, `data-col="in-flight">3<`, "<td data-col=\"started\">"+started.UTC().Format("2006-01-02 15:04:05 UTC"),
			`<tr data-worker="w-2">`, `<td data-col="host">host-b</td>`)
		if err := b.UnregisterWorker(t.Context(), "w-1"); err != nil {
			t.Fatal(err)
		}
		u.get("workers").want(t, 200, "1 running")
		u.get("workers").wantNot(t, "host-a")
	})
}

// The times of the workers page: the heartbeat's age and the time left of
// the registration, by the backend's clock against the UI's.
func TestWorkersPageTimes(t *testing.T) {
	clk := queuetest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := memqueue.New(memqueue.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, b)
	u.h.now = clk.Now
	if err := b.RegisterWorker(t.Context(), core.WorkerInfo{ID: "w", Host: "h", Queues: []string{"q"}, StartedAt: clk.Now().Add(-2 * time.Hour)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Second)
	u.get("workers").want(t, 200, "(2 h ago)", `<td data-col="seen">20 s ago <span class="meta">(lapses in 40 s)</span></td>`)
	clk.Advance(time.Minute)
	u.get("workers").want(t, 200, "No worker is running.")
}

// plain hides every method of a backend but core.Backend's.
type plain struct{ core.Backend }

func TestSchedulesPage(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		store := b.(core.ScheduleStore)
		ctx := t.Context()
		u := newUI(t, b)
		u.get("").want(t, 200, `<a href="schedules">Schedules</a>`)
		u.get("schedules").want(t, 200, "No schedule is registered")

		next := time.Now().Add(time.Hour).Truncate(time.Hour).UTC()
		last := next.Add(-24 * time.Hour)
		err := store.RegisterSchedules(ctx, []core.ScheduleInfo{
			{Queue: "reports", Name: "nightly", Spec: "CRON_TZ=Europe/Paris 0 3 * * *", Next: next},
			{Queue: "emails", Name: "digest", Spec: "@every 5m", Next: next},
		}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.EnqueueSlot(ctx, core.SlotParams{Schedule: "nightly", Slot: last,
			Request: core.EnqueueRequest{Queue: "reports", ID: "nightly@x", Payload: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
		r := u.get("schedules")
		r.want(t, 200, "2 registered",
			`<tr data-schedule="nightly">`, `<a href="queue?name=reports">reports</a>`, `<td data-col="spec"><code>CRON_TZ=Europe/Paris 0 3 * * *</code></td>`,
			`<td data-col="next">`+next.Format("2006-01-02 15:04:05 UTC"), `<td data-col="last">`+last.Format("2006-01-02 15:04:05 UTC"),
			`<tr data-schedule="digest">`, `<td data-col="last">none yet</td>`)
		if strings.Index(r.body, `data-schedule="digest"`) > strings.Index(r.body, `data-schedule="nightly"`) {
			t.Error("not sorted by queue: emails after reports")
		}

		// A backend without a schedule store has no such page.
		p := newUI(t, plain{b})
		p.get("").wantNot(t, `href="schedules"`)
		p.get("schedules").want(t, 404)
	})
}

// What the new pages and actions show of the queues is escaped.
func TestEscapingControl(t *testing.T) {
	onBackends(t, func(t *testing.T, b core.Backend) {
		const evil = `<script>alert("x")</script>`
		ctx := t.Context()
		if _, err := b.Enqueue(ctx, []core.EnqueueRequest{{Queue: evil, ID: evil, Payload: []byte("x"), MaxAttempts: 2}}); err != nil {
			t.Fatal(err)
		}
		if err := b.PauseQueue(ctx, evil); err != nil {
			t.Fatal(err)
		}
		if err := b.RegisterWorker(ctx, core.WorkerInfo{ID: evil, Host: evil, Queues: []string{evil}, StartedAt: time.Now()}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := b.(core.ScheduleStore).RegisterSchedules(ctx, []core.ScheduleInfo{{Queue: evil, Name: evil, Spec: evil, Next: time.Now()}}, time.Minute); err != nil {
			t.Fatal(err)
		}
		u := newUI(t, b, WithActions(true))
		tok := u.token()
		q := url.QueryEscape(evil)
		pages := map[string]response{
			"queues":       u.get(""),
			"queue":        u.get("queue?name=" + q),
			"message":      u.get("message?queue=" + q + "&id=" + q),
			"workers":      u.get("workers"),
			"schedules":    u.get("schedules"),
			"cancel ask":   u.post("cancel", url.Values{"csrf": {tok}, "queue": {evil}, "id": {evil}}),
			"cancel none":  u.post("cancel", url.Values{"csrf": {tok}, "queue": {evil}, "id": {"x" + evil}}),
			"message note": u.get("message?queue=" + q + "&id=" + q + "&canceled=" + q),
		}
		for name, r := range pages {
			if strings.Contains(r.body, "<script>alert") {
				t.Errorf("%s page: holds the raw script:\n%s", name, r.body)
			}
			if !strings.Contains(r.body, "&lt;script&gt;alert(") {
				t.Errorf("%s page (%d): the escaped script is missing:\n%s", name, r.status, r.body)
			}
		}
		for _, action := range []string{"resume", "pause"} {
			r := u.post(action, url.Values{"csrf": {tok}, "queue": {evil}, "back": {"queue"}})
			if r.status != 303 || !strings.HasPrefix(r.location, "queue?name=") || strings.ContainsAny(r.location, "<>\"") {
				t.Fatalf("%s: %d %q", action, r.status, r.location)
			}
		}
		r := u.post("cancel", url.Values{"csrf": {tok}, "queue": {evil}, "id": {evil}, "confirm": {"yes"}})
		if r.status != 303 || !strings.HasPrefix(r.location, "message?") || strings.ContainsAny(r.location, "<>\"") {
			t.Fatalf("cancel: %d %q", r.status, r.location)
		}
	})
}

// A backend error on the new pages is a 502 page.
func TestControlBackendError(t *testing.T) {
	b, err := memqueue.New()
	if err != nil {
		t.Fatal(err)
	}
	u := newUI(t, failingControl{plain{b}}, WithActions(true))
	u.get("workers").want(t, 502, "The backend failed: redis down")
	tok := u.token()
	u.post("pause", url.Values{"csrf": {tok}, "queue": {"q"}}).want(t, 502, "The backend failed: redis down")
	u.post("cancel", url.Values{"csrf": {tok}, "queue": {"q"}, "id": {"x"}, "confirm": {"yes"}}).want(t, 502, "The backend failed: redis down")
}

type failingControl struct{ plain }

var errDown = errors.New("redis down")

func (failingControl) Workers(context.Context) ([]core.WorkerInfo, error) { return nil, errDown }
func (failingControl) PauseQueue(context.Context, string) error           { return errDown }
func (failingControl) CancelMessage(context.Context, string, string) (core.Status, error) {
	return core.StatusNone, errDown
}
