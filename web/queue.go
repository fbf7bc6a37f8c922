package web

import (
	"net/http"

	"github.com/redghost/redghost/core"
)

// filters of the queue page, as the counts of the queues page group the
// statuses.
var filters = []struct {
	Name string
	has  func(core.Status) bool
}{
	{"queued", func(s core.Status) bool { return s == core.StatusQueued }},
	{"backoff", func(s core.Status) bool { return s == core.StatusQueuedWithBackoff }},
	{"locked", func(s core.Status) bool { return s == core.StatusLocked || s == core.StatusLockedWithRequeue }},
	{"done", func(s core.Status) bool {
		return s == core.StatusDoneAwaitingGC || s == core.StatusDoneWithBackoff || s == core.StatusDoneWithRequeue
	}},
}

type queueData struct {
	Queue    string
	Stats    core.QueueStats
	Filter   string
	Filters  []string
	Messages []core.MessageInfo
	Cursor   string
	Next     string
	Scanned  int // messages read to fill a filtered page
}

// filterScan bounds the messages one filtered page reads: a rare status in
// a long queue gives a short page and a link to go on.
const filterScan = 20_000

func (h *Handler) queuePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := queueData{Queue: q.Get("name"), Filter: q.Get("status"), Cursor: q.Get("cursor")}
	if err := core.ValidateQueueName(d.Queue); err != nil {
		h.fail(w, r, err)
		return
	}
	var keep func(core.Status) bool
	for _, f := range filters {
		d.Filters = append(d.Filters, f.Name)
		if f.Name == d.Filter {
			keep = f.has
		}
	}
	if keep == nil && d.Filter != "" {
		h.error(w, r, http.StatusBadRequest, "Unknown status filter; want queued, backoff, locked or done.")
		return
	}
	ctx := r.Context()
	var err error
	if d.Stats, err = h.b.QueueStats(ctx, d.Queue); err != nil {
		h.fail(w, r, err)
		return
	}
	size := h.cfg.pageSize
	cursor := d.Cursor
	for {
		msgs, next, err := h.b.QueueContent(ctx, d.Queue, cursor, size)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Scanned += len(msgs)
		for _, m := range msgs {
			if keep == nil || keep(m.Status) {
				d.Messages = append(d.Messages, m)
			}
		}
		d.Next, cursor = next, next
		if next == "" || len(d.Messages) >= size || d.Scanned >= filterScan {
			break
		}
	}
	h.render(w, r, "queue", d.Queue, d)
}
