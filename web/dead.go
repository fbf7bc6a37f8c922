package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/redghost/redghost/core"
)

type deadData struct {
	Queue   string
	Stats   core.QueueStats
	Letters []deadRow
	Offset  int
	Prev    int // offset of the previous page; -1 on the first
	Next    int // offset of the next page; -1 on the last
	Flash   string
}

type deadRow struct {
	core.DeadLetter
	Payload payloadView
}

func (h *Handler) deadPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := deadData{Queue: q.Get("queue"), Prev: -1, Next: -1}
	if err := core.ValidateQueueName(d.Queue); err != nil {
		h.fail(w, r, err)
		return
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.error(w, r, http.StatusBadRequest, "The offset must be a whole number, 0 or more.")
			return
		}
		d.Offset = n
	}
	d.Flash = flash(q)
	ctx := r.Context()
	var err error
	if d.Stats, err = h.b.QueueStats(ctx, d.Queue); err != nil {
		h.fail(w, r, err)
		return
	}
	size := h.cfg.pageSize
	dl, err := h.b.DeadLetters(ctx, d.Queue, d.Offset, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, l := range dl {
		row := deadRow{DeadLetter: l}
		if h.cfg.payloads {
			row.Payload = viewPayload(l.Payload)
		}
		d.Letters = append(d.Letters, row)
	}
	if d.Offset > 0 {
		d.Prev = max(d.Offset-size, 0)
	}
	if len(dl) == size {
		d.Next = d.Offset + size
	}
	h.render(w, r, "dead", "Dead letters of "+d.Queue, d)
}

// flash is the note an action leaves for the page it redirects to. It is
// made of numbers alone, so that a link cannot put words in the UI's mouth.
func flash(q url.Values) string {
	num := func(k string) (int, bool) {
		n, err := strconv.Atoi(q.Get(k))
		return n, err == nil && n >= 0
	}
	if n, ok := num("requeued"); ok {
		s := fmt.Sprintf("Requeued %s.", plural(n, "dead letter"))
		if asked, ok := num("asked"); ok && asked > n {
			s += fmt.Sprintf(" %s stayed: a live message of the queue has the same id, or it was gone.", plural(asked-n, "dead letter"))
		}
		return s
	}
	if n, ok := num("purged"); ok {
		return fmt.Sprintf("Purged %s.", plural(n, "dead letter"))
	}
	if q.Get("cleared") == "1" {
		return "Cleared the queue: its messages and dead letters are gone."
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
