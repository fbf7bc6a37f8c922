package web

import (
	"context"
	"net/http"
	"strconv"

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
	Skip     int    // matching messages to skip at Cursor (a filtered page)
	Next     string // "" with NextSkip 0: the last page
	NextSkip int
	Scanned  int // messages read to fill a filtered page
}

// A filtered page reads the queue in chunks of filterChunk (few calls: a
// listing call may cost O(queue length), as memqueue's does) and at most
// filterScan messages: a rare status in a long queue gives a short page
// and a link to go on.
const (
	filterChunk = 1000
	filterScan  = 5000
)

func (h *Handler) queuePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := queueData{Queue: q.Get("name"), Filter: q.Get("status"), Cursor: q.Get("cursor")}
	if s := q.Get("skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.error(w, r, http.StatusBadRequest, "skip must be a whole number, 0 or more.")
			return
		}
		d.Skip = n
	}
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
	if err := h.readPage(r, &d, keep); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "queue", d.Queue, d)
}

// readPage reads the page of d.Queue at d.Cursor into d: pageSize
// messages, or the matching ones of up to filterScan messages when keep
// filters them. A filtered page that ends inside a chunk continues at the
// same cursor, skipping the matches already shown.
func (h *Handler) readPage(r *http.Request, d *queueData, keep func(core.Status) bool) error {
	ctx := r.Context()
	size := h.cfg.pageSize
	if keep == nil {
		msgs, next, err := h.b.QueueContent(ctx, d.Queue, d.Cursor, size)
		d.Messages, d.Next, d.Scanned = msgs, next, len(msgs)
		return err
	}
	return h.readFiltered(ctx, d, keep, size)
}

func (h *Handler) readFiltered(ctx context.Context, d *queueData, keep func(core.Status) bool, size int) error {
	cursor, skip := d.Cursor, d.Skip
	for {
		msgs, next, err := h.b.QueueContent(ctx, d.Queue, cursor, filterChunk)
		if err != nil {
			return err
		}
		d.Scanned += len(msgs)
		matched := 0 // matches in this chunk, shown or skipped
		for _, m := range msgs {
			if !keep(m.Status) {
				continue
			}
			matched++
			if matched <= skip {
				continue
			}
			if len(d.Messages) == size {
				// One more match than the page holds: go on from here.
				// (From the start, the cursor is "" and NextSkip tells.)
				d.Next, d.NextSkip = cursor, matched-1
				return nil
			}
			d.Messages = append(d.Messages, m)
		}
		skip = 0
		d.Next, cursor = next, next
		if next == "" || d.Scanned >= filterScan {
			return nil
		}
	}
}
