package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/queuestats"
)

// queueRow is one line of the queues page.
type queueRow struct {
	Name  string
	Stats core.QueueStats
	// TotalRate and DeadRate are the changes per second of the total and
	// of the dead letters since an earlier reading; "" before there is one.
	TotalRate, DeadRate string
}

type queuesData struct {
	Rows    []queueRow
	Refresh string
	At      string
}

func (h *Handler) queuesPage(w http.ResponseWriter, r *http.Request) {
	rows, err := h.collect(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "queues", "Queues", queuesData{Rows: rows, Refresh: core.Plain(h.cfg.refresh), At: h.now().UTC().Format("15:04:05")})
}

// queueRows is the body of the queues table alone, for the page's refresh.
func (h *Handler) queueRows(w http.ResponseWriter, r *http.Request) {
	rows, err := h.collect(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pd := pageData{Actions: h.cfg.actions, CSRF: h.csrf.issue(w, r), Data: queuesData{Rows: rows}}
	if err := h.pages["queues"].ExecuteTemplate(w, "rows", pd); err != nil {
		h.cfg.logger.Error("web: render rows", "err", err)
	}
}

// collect reads every queue's counts, a few queues at a time, and their
// rates against an earlier reading.
func (h *Handler) collect(ctx context.Context) ([]queueRow, error) {
	names, err := h.b.QueueNames(ctx)
	if err != nil {
		return nil, err
	}
	stats, err := queuestats.Read(ctx, names, h.b.QueueStats)
	if err != nil {
		return nil, err
	}
	rows := make([]queueRow, len(names))
	for i, n := range names {
		rows[i] = queueRow{Name: n, Stats: stats[i]}
	}
	h.rates.update(h.now(), rows)
	return rows, nil
}

// rateBook turns successive counts into rates. The counts alone cannot
// tell handled messages from new ones: the total's change per second is
// the enqueue rate minus the rate at which handled messages leave, so a
// draining queue shows minus its handling rate, and the dead letters'
// change is the rate of failures. Every reader of the page shares one
// book; a reading closer than minGap to the last one keeps the last rate,
// so that many readers do not shorten the interval to noise.
type rateBook struct {
	mu   sync.Mutex
	last map[string]rateSample
}

type rateSample struct {
	at          time.Time
	total, dead int64
	// the rates computed at at, against the sample before
	totalRate, deadRate float64
	known               bool
}

const minGap = 500 * time.Millisecond

func newRateBook() *rateBook { return &rateBook{last: make(map[string]rateSample)} }

func (b *rateBook) update(now time.Time, rows []queueRow) {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := make(map[string]bool, len(rows))
	for i := range rows {
		q := &rows[i]
		seen[q.Name] = true
		prev, ok := b.last[q.Name]
		switch dt := now.Sub(prev.at).Seconds(); {
		case !ok:
			b.last[q.Name] = rateSample{at: now, total: q.Stats.Total, dead: q.Stats.Dead}
		case now.Sub(prev.at) >= minGap:
			prev = rateSample{
				at: now, total: q.Stats.Total, dead: q.Stats.Dead, known: true,
				totalRate: float64(q.Stats.Total-prev.total) / dt,
				deadRate:  float64(q.Stats.Dead-prev.dead) / dt,
			}
			b.last[q.Name] = prev
		}
		if s := b.last[q.Name]; s.known {
			q.TotalRate, q.DeadRate = formatRate(s.totalRate), formatRate(s.deadRate)
		}
	}
	for n := range b.last {
		if !seen[n] {
			delete(b.last, n)
		}
	}
}

// formatRate writes a change per second with its sign: "+12/s", "−3.5/s",
// "0/s".
func formatRate(r float64) string {
	a := math.Abs(r)
	var s string
	switch {
	case a < 0.05:
		return "0/s"
	case a < 10:
		s = fmt.Sprintf("%.1f/s", a)
	default:
		s = fmt.Sprintf("%.0f/s", a)
	}
	if r < 0 {
		return "−" + s
	}
	return "+" + s
}
