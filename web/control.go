package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/redghost/redghost/core"
)

// Queue control: pause and resume a queue, cancel a message (actions,
// checked by ServeHTTP like the others), and the pages of the running
// workers and of the registered schedules.

func (h *Handler) pause(w http.ResponseWriter, r *http.Request)  { h.setPaused(w, r, true) }
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) { h.setPaused(w, r, false) }

// setPaused pauses or resumes the form's queue at once (either is undone
// by the other, so neither asks for confirmation), then sends the browser
// back to the queue's page when the form came from there (back=queue), or
// else to the queues page.
func (h *Handler) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	queue, ok := h.formQueue(w, r)
	if !ok {
		return
	}
	var err error
	if paused {
		err = h.b.PauseQueue(r.Context(), queue)
	} else {
		err = h.b.ResumeQueue(r.Context(), queue)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.PostFormValue("back") == "queue" {
		redirect(w, queueURL(queue), http.StatusSeeOther)
		return
	}
	redirect(w, "./", http.StatusSeeOther)
}

func messageURL(queue, id string, note url.Values) string {
	note.Set("queue", queue)
	note.Set("id", id)
	return "message?" + note.Encode()
}

// cancelNotes are what the message page says after a cancel, by the
// status the message had (the redirect names it).
var cancelNotes = map[core.Status]string{
	core.StatusNone:              "Nothing to cancel: the queue held no message with this id.",
	core.StatusQueued:            "Cancelled: the message was removed from the queue; it is never handled.",
	core.StatusQueuedWithBackoff: "Cancelled: the message was removed from the queue; it is never handled.",
	core.StatusLocked:            "Cancelled: its worker is told at its next heartbeat and cancels the handler's context.",
	core.StatusLockedWithRequeue: "Cancelled: the pending copy was dropped; its worker is told at its next heartbeat and cancels the handler's context.",
	core.StatusDoneWithRequeue:   "Cancelled: the pending copy was dropped.",
	core.StatusDoneAwaitingGC:    "Nothing to cancel: the message was handled already.",
	core.StatusDoneWithBackoff:   "Nothing to cancel: the message was handled already.",
}

// cancelAsks is what the confirmation says a cancel will do, by the
// message's status.
var cancelAsks = map[core.Status]string{
	core.StatusQueued:            "it is removed from the queue and never handled",
	core.StatusQueuedWithBackoff: "it is removed from the queue and never handled",
	core.StatusLocked:            "its handler's context is cancelled at the worker's next heartbeat, and it is not handled again",
	core.StatusLockedWithRequeue: "the pending copy is dropped, its handler's context is cancelled at the worker's next heartbeat, and it is not handled again",
	core.StatusDoneWithRequeue:   "the pending copy is dropped",
}

// canCancel tells whether a cancel would change a message: one in a status
// cancelAsks names, not cancelled already.
func canCancel(st core.Status, m *core.MessageInfo) bool {
	_, ok := cancelAsks[st]
	return ok && (m == nil || !m.Canceled)
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	queue, ok := h.formQueue(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("id")
	if err := core.ValidateID(id); err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	if !confirmed(r) {
		st, err := h.b.MessageStatus(ctx, queue, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		what, ok := cancelAsks[st]
		if !ok {
			h.error(w, r, http.StatusConflict, fmt.Sprintf("Message %q of %q is %s: there is nothing to cancel.", id, queue, st))
			return
		}
		h.render(w, r, "confirm", "Cancel?", confirmData{
			Action: "cancel", Queue: queue, Button: "Cancel the message",
			Question: fmt.Sprintf("Cancel message %q of %q? It is %s: %s.", id, queue, st, what),
			Fields:   []header{{"id", id}},
			Back:     messageURL(queue, id, url.Values{}),
		})
		return
	}
	was, err := h.b.CancelMessage(ctx, queue, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, messageURL(queue, id, url.Values{"canceled": {was.String()}}), http.StatusSeeOther)
}

// cancelNote is the note for the message page's canceled parameter (a
// status word), or "" for a word that is not a status.
func cancelNote(word string) string {
	for st, note := range cancelNotes {
		if st.String() == word {
			return note
		}
	}
	return ""
}

type workersData struct {
	Workers []core.WorkerInfo
}

func (h *Handler) workersPage(w http.ResponseWriter, r *http.Request) {
	ws, err := h.b.Workers(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "workers", "Workers", workersData{Workers: ws})
}

type schedulesData struct {
	Schedules []core.ScheduleInfo
}

func (h *Handler) schedulesPage(w http.ResponseWriter, r *http.Request, s core.ScheduleStore) {
	list, err := s.Schedules(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, "schedules", "Schedules", schedulesData{Schedules: list})
}
