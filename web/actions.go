package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/redghost/redghost/core"
)

// The actions answer a POST (checked by ServeHTTP: actions on, CSRF token
// good). Those that change a whole queue (requeue all, purge, clear) show
// a confirmation page first and act only on a POST that carries
// confirm=yes; then each redirects (303) to a page that says what was done.

type confirmData struct {
	Action   string // the route to post to
	Queue    string
	Question string
	Button   string
	Fields   []header
	Back     string // the URL of the Cancel link
}

// formQueue is the form's queue name, checked; it answers false after
// writing the error page.
func (h *Handler) formQueue(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.PostFormValue("queue")
	if err := core.ValidateQueueName(q); err != nil {
		h.fail(w, r, err)
		return "", false
	}
	return q, true
}

func confirmed(r *http.Request) bool { return r.PostFormValue("confirm") == "yes" }

func deadURL(queue string, note url.Values) string {
	note.Set("queue", queue)
	return "dead?" + note.Encode()
}

func (h *Handler) requeue(w http.ResponseWriter, r *http.Request) {
	queue, ok := h.formQueue(w, r)
	if !ok {
		return
	}
	all := r.PostFormValue("all") == "1"
	ids := r.PostForm["id"]
	switch {
	case all && len(ids) > 0:
		h.error(w, r, http.StatusBadRequest, "Requeue either all dead letters or the selected ones, not both.")
		return
	case !all && len(ids) == 0:
		h.error(w, r, http.StatusBadRequest, "No dead letter selected.")
		return
	}
	for _, id := range ids {
		if err := core.ValidateID(id); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	ctx := r.Context()
	if all && !confirmed(r) {
		st, err := h.b.QueueStats(ctx, queue)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, "confirm", "Requeue all?", confirmData{
			Action: "requeue", Queue: queue, Button: "Requeue all",
			Question: fmt.Sprintf("Requeue all %s of %q as fresh messages?", plural(int(st.Dead), "dead letter"), queue),
			Fields:   []header{{"all", "1"}},
			Back:     deadURL(queue, url.Values{}),
		})
		return
	}
	n, err := h.b.RequeueDeadLetters(ctx, queue, ids...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	note := url.Values{"requeued": {fmt.Sprint(n)}}
	if !all {
		note.Set("asked", fmt.Sprint(len(ids)))
	}
	redirect(w, deadURL(queue, note), http.StatusSeeOther)
}

func (h *Handler) purge(w http.ResponseWriter, r *http.Request) {
	queue, ok := h.formQueue(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if !confirmed(r) {
		st, err := h.b.QueueStats(ctx, queue)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, "confirm", "Purge?", confirmData{
			Action: "purge", Queue: queue, Button: "Purge",
			Question: fmt.Sprintf("Delete all %s of %q for good?", plural(int(st.Dead), "dead letter"), queue),
			Back:     deadURL(queue, url.Values{}),
		})
		return
	}
	n, err := h.b.PurgeDeadLetters(ctx, queue)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, deadURL(queue, url.Values{"purged": {fmt.Sprint(n)}}), http.StatusSeeOther)
}

func (h *Handler) clear(w http.ResponseWriter, r *http.Request) {
	queue, ok := h.formQueue(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if !confirmed(r) {
		st, err := h.b.QueueStats(ctx, queue)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, "confirm", "Clear?", confirmData{
			Action: "clear", Queue: queue, Button: "Clear the queue",
			Question: fmt.Sprintf("Delete every message (%d) and dead letter (%d) of %q for good?", st.Total, st.Dead, queue),
			Back:     "queue?" + url.Values{"name": {queue}}.Encode(),
		})
		return
	}
	if err := h.b.ClearQueues(ctx, queue); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, deadURL(queue, url.Values{"cleared": {"1"}}), http.StatusSeeOther)
}
