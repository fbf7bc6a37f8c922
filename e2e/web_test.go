package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/core/redisqueue"
	"github.com/redghost/redghost/internal/redistest"
)

// TestWebUI drives the web UI of `redghost serve` (built from the
// repository) with a real headless Chromium against a real redis-server:
// live counts, a queue paused by a click, a message's why, a message
// cancelled and a dead letter requeued by clicks, a worker of this process on the workers page, and
// a POST without a CSRF token refused. With RG_SCREENSHOTS=1 it saves the
// queues page, a message page and the workers page to docs/img/ for the
// README.
func TestWebUI(t *testing.T) {
	chrome := need(t, "CHROMIUM_BIN", "chromium")
	bin := goBuild(t, repoRoot(t), "./cmd/redghost")
	redis := redistest.Start(t)
	b, err := redisqueue.New(redis.Client(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seedWebUI(t, ctx, b)

	base := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	serve := start(t, "redghost serve", bin, nil, "-redis", "redis://"+redis.Addr()+"/0", "serve",
		"-addr", strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/"),
		"-actions", "-payloads", "-jaeger", "http://localhost:16686", "-refresh", "500ms")
	waitFor(t, "redghost serve to answer", 20*time.Second, serve, func() error {
		_, err := get(ctx, base)
		return err
	})

	bctx := headless(t, ctx, chrome, 1000, 600)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	cell := func(queue, col string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`tr[data-queue=%q] td[data-col=%q]`, queue, col))
	}
	// waitText polls the text of sel until want(text): the page changes
	// by itself.
	waitText := func(what string, sel chromedp.CSS, want func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			s := text(what, sel)
			if want(s) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q after 15s", what, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The queues page: its counts follow the queue without a reload.
	do("open the queues page", chromedp.EmulateViewport(1000, 600), chromedp.Navigate(base), chromedp.WaitVisible(cell("orders", "queued")))
	before := text("orders queued", cell("orders", "queued"))
	pub := core.NewPublisher(b)
	for i := range 5 {
		if _, err := pub.Enqueue(ctx, "orders", []byte(`{"order":`+fmt.Sprint(100+i)+`}`)); err != nil {
			t.Fatal(err)
		}
	}
	if before != "3" {
		t.Errorf("orders queued: %s, want 3", before)
	}
	// The page reads the counts again by itself (perhaps between two of
	// the enqueues): it comes to show all 8.
	waitText("orders queued after 5 more", cell("orders", "queued"), func(s string) bool { return s == "8" })
	waitText("a rate for orders", cell("orders", "total-rate"), func(s string) bool { return s != "–" })

	// Pause a queue with a click: the page comes back with the paused
	// marker and a resume button, and the backend holds the pause.
	do("pause emails", chromedp.Click(chromedp.CSS(`tr[data-queue="emails"] button[data-action="pause"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-queue="emails"] .tag.paused`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-queue="emails"] button[data-action="resume"]`)))
	if st, err := b.QueueStats(ctx, "emails"); err != nil || !st.Paused {
		t.Errorf("emails after the click on pause: %+v %v", st, err)
	}
	if oldest := text("orders oldest", cell("orders", "oldest")); oldest == "–" || !strings.HasSuffix(oldest, " s") && !strings.HasSuffix(oldest, " ms") {
		t.Errorf("the oldest waiting message of orders: %q", oldest)
	}
	screenshot(t, bctx, "web-queues.png")

	// A message page: its why.
	do("open a locked message", chromedp.Navigate(base+"message?queue=orders&id=order-1042"), chromedp.WaitVisible(chromedp.ID("why")))
	why := text("the why", chromedp.CSS("#why"))
	if !strings.Contains(why, "locked") || !strings.Contains(why, "Locked by a handler (attempt 1); the lock expires in") {
		t.Errorf("why of a locked message: %q", why)
	}
	link, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.ID("trace-link"), "href"))
	if err != nil || link.Value != "http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace link %q: %v", link.Value, err)
	}
	if !strings.Contains(why, "Its own limits: at most 5 handlings") {
		t.Errorf("why of a message with its own limits: %q", why)
	}
	screenshot(t, bctx, "web-message.png")

	// Cancel a queued message with a click, confirmed: it leaves the queue.
	do("cancel a queued message", chromedp.Navigate(base+"message?queue=orders&id=order-1044"),
		chromedp.Click(chromedp.ID("cancel-button")),
		chromedp.Click(chromedp.CSS(`form.confirm button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if flash := text("the cancel's flash", chromedp.CSS("p.flash")); flash != "Cancelled: the message was removed from the queue; it is never handled." {
		t.Errorf("after the cancel: %q", flash)
	}
	if st, err := b.MessageStatus(ctx, "orders", "order-1044"); err != nil || st != core.StatusNone {
		t.Errorf("order-1044 after the cancel: %v %v", st, err)
	}

	// Dead letters: requeue one with a click; it leaves the list.
	do("requeue a dead letter", chromedp.Navigate(base+"dead?queue=payments"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-id="pay-7"]`)),
		chromedp.Click(chromedp.CSS(`input[name=id][value="pay-7"]`)),
		chromedp.Click(chromedp.ID("requeue-selected-button")),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	flash := text("the flash", chromedp.CSS("p.flash"))
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-id="pay-7"]').length`))
	if err != nil || flash != "Requeued 1 dead letter." || rows != 0 {
		t.Errorf("after the requeue: flash %q, %d rows of pay-7 (%v)", flash, rows, err)
	}
	if st, err := b.MessageStatus(ctx, "payments", "pay-7"); err != nil || st != core.StatusQueued {
		t.Errorf("pay-7 after the requeue: %v %v", st, err)
	}

	// The workers page lists a worker running in this process on the same
	// redis-server.
	release := make(chan struct{})
	w, err := core.NewWorker(core.NewQueue(b, "thumbnails"), core.HandlerFunc(func(ctx context.Context, m *core.Message) core.Result {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return core.Success()
	}), core.WithConcurrency(3), core.WithHeartbeat(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		close(release)
		if err := w.Stop(ctx); err != nil {
			t.Errorf("stop the worker: %v", err)
		}
	}()
	host, _ := os.Hostname()
	const row = chromedp.CSS(`tr[data-worker] `)
	waitFor(t, "the worker on the workers page", 15*time.Second, nil, func() error {
		if err := chromedp.Do(bctx, chromedp.Navigate(base+"workers")); err != nil {
			return err
		}
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-worker]').length`))
		if err != nil || n != 1 {
			return fmt.Errorf("%d workers listed (%v)", n, err)
		}
		// The heartbeat reports the messages in flight: the three
		// handlings that wait for the release, and any taken ahead.
		held := w.Stats().InFlight
		if in := text("in flight", row+`td[data-col="in-flight"]`); held < 3 || in != fmt.Sprint(held) {
			return fmt.Errorf("in flight %s on the page, %d in the worker", in, held)
		}
		return nil
	})
	if got := text("host", row+`td[data-col="host"]`); got != host {
		t.Errorf("worker host %q, want %q", got, host)
	}
	if got := text("pid", row+`td[data-col="pid"]`); got != fmt.Sprint(os.Getpid()) {
		t.Errorf("worker pid %q, want %d", got, os.Getpid())
	}
	if got := text("queues", row+`td[data-col="queues"]`); got != "thumbnails" {
		t.Errorf("worker queues %q", got)
	}
	if got := text("concurrency", row+`td[data-col="concurrency"]`); got != "3" {
		t.Errorf("worker concurrency %q", got)
	}
	screenshot(t, bctx, "web-workers.png")

	// A POST from the page's own origin, with its cookie but no token, is
	// refused and changes nothing.
	status, err := chromedp.Run(bctx, chromedp.Evaluate[int](
		`fetch("purge", {method: "POST", body: new URLSearchParams({queue: "payments", confirm: "yes"})}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || status != 403 {
		t.Errorf("POST purge without a token: %d (%v), want 403", status, err)
	}
	if st, err := b.QueueStats(ctx, "payments"); err != nil || st.Dead != 1 {
		t.Errorf("payments after the refused purge: %+v %v", st, err)
	}
}

// seedWebUI fills a few queues with messages in every state.
func seedWebUI(t *testing.T, ctx context.Context, b *redisqueue.Backend) {
	t.Helper()
	pub := core.NewPublisher(b)
	enq := func(queue, id, payload string, opts ...core.EnqueueOption) {
		t.Helper()
		if r, err := pub.Enqueue(ctx, queue, []byte(payload), append(opts, core.WithID(id))...); err != nil || r.Err != nil {
			t.Fatalf("enqueue %s/%s: %v %v", queue, id, err, r.Err)
		}
	}
	take := func(queue string, n int) []core.Delivery {
		t.Helper()
		res, err := b.Dequeue(ctx, core.DequeueParams{Queue: queue, Max: n, Lock: 45 * time.Second})
		if err != nil || len(res.Messages) != n {
			t.Fatalf("dequeue %d from %s: %v %d", n, queue, err, len(res.Messages))
		}
		return res.Messages
	}
	ack := func(queue string, d core.Delivery, o core.Outcome, backoff time.Duration, text string) {
		t.Helper()
		if _, err := b.Ack(ctx, queue, []core.Ack{{ID: d.ID, Token: d.Token, Outcome: o, Backoff: backoff, Error: text}}); err != nil {
			t.Fatal(err)
		}
	}
	tp := core.WithHeader("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	enq("orders", "order-1042", `{"order":1042,"customer":"c-77","items":[{"sku":"A-1","qty":2}],"total":"39.90"}`, tp, core.WithHeader("tenant", "acme"),
		core.WithMaxAttempts(5), core.WithHandlingTimeout(30*time.Second))
	enq("orders", "order-1043", `{"order":1043}`)
	take("orders", 2)
	for i := range 3 {
		enq("orders", fmt.Sprintf("order-%d", 1044+i), `{"order":1044}`)
	}
	for i := range 12 {
		enq("emails", fmt.Sprintf("welcome-%d", i), `{"to":"user@example.com","template":"welcome"}`)
	}
	for _, d := range take("emails", 4) {
		ack("emails", d, core.OutcomeSuccess, time.Hour, "")
	}
	for i := range 6 {
		enq("payments", fmt.Sprintf("pay-%d", i), `{"amount":"12.00","currency":"EUR"}`)
	}
	ds := take("payments", 4)
	ack("payments", ds[0], core.OutcomeRetry, 30*time.Second, "")
	ack("payments", ds[1], core.OutcomeRetry, 90*time.Second, "")
	ack("payments", ds[2], core.OutcomeError, 0, "card declined: insufficient funds")
	_ = ds[3]
	enq("payments", "pay-7", `{"amount":"99.00","currency":"EUR"}`)
	for _, d := range take("payments", 3) { // pay-4, pay-5 stay locked

		if d.ID == "pay-7" {
			ack("payments", d, core.OutcomeError, 0, "gateway timeout after 30s")
		}
	}
	enq("webhooks", "hook-1", `{"url":"https://example.com/hook"}`, core.WithDelay(10*time.Minute))
	for i := range 40 {
		enq("thumbnails", fmt.Sprintf("img-%d", i), `{"src":"s3://bucket/img.jpg","sizes":[64,256]}`)
	}
	take("thumbnails", 6)
	for i := range 3 {
		enq("invoices", fmt.Sprintf("inv-%d", i), `{"invoice":"2026-11-0001"}`)
	}
	for _, d := range take("invoices", 3) {
		ack("invoices", d, core.OutcomeError, 0, "pdf render: template missing")
	}
}

// screenshot saves the browser's view to docs/img/name when
// RG_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screenshotOf(t, ctx, name, chromedp.CaptureScreenshot())
}

// screenshotOf saves the picture that capture takes (the view, or a part
// of the page) to docs/img/name when RG_SCREENSHOTS=1.
func screenshotOf(t *testing.T, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	if os.Getenv("RG_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(repoRoot(t), "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d bytes)", filepath.Join(dir, name), len(png))
}
