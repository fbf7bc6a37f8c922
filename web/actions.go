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

// askQueue shows the confirmation page c of an action on the whole of
// c.Queue, its question worded from the queue's stats.
func (h *Handler) askQueue(w http.ResponseWriter, r *http.Request, title string, c confirmData, question func(core.QueueStats) string) {
	st, err := h.b.QueueStats(r.Context(), c.Queue)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c.Question = question(st)
	h.render(w, r, "confirm", title, c)
}

func queueURL(queue string) string { return "queue?" + url.Values{"name": {queue}}.Encode() }

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
	if all && !confirmed(r) {
		h.askQueue(w, r, "Requeue all?", confirmData{
			Action: "requeue", Queue: queue, Button: "Requeue all",
			Fields: []header{{"all", "1"}},
			Back:   deadURL(queue, url.Values{}),
		}, func(st core.QueueStats) string {
			return fmt.Sprintf("Requeue all %s of %q as fresh messages?", plural(int(st.Dead), "dead letter"), queue)
		})
		return
	}
	n, err := h.b.RequeueDeadLetters(r.Context(), queue, ids...)
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
	if !confirmed(r) {
		h.askQueue(w, r, "Purge?", confirmData{
			Action: "purge", Queue: queue, Button: "Purge",
			Back: deadURL(queue, url.Values{}),
		}, func(st core.QueueStats) string {
			return fmt.Sprintf("Delete all %s of %q for good?", plural(int(st.Dead), "dead letter"), queue)
		})
		return
	}
	n, err := h.b.PurgeDeadLetters(r.Context(), queue)
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
	if !confirmed(r) {
		h.askQueue(w, r, "Clear?", confirmData{
			Action: "clear", Queue: queue, Button: "Clear the queue",
			Back: queueURL(queue),
		}, func(st core.QueueStats) string {
			return fmt.Sprintf("Delete every message (%d) and dead letter (%d) of %q for good?", st.Total, st.Dead, queue)
		})
		return
	}
	if err := h.b.ClearQueues(r.Context(), queue); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, deadURL(queue, url.Values{"cleared": {"1"}}), http.StatusSeeOther)
}
