package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/internal/text"
)

type messageData struct {
	core.Explanation
	State   string
	Headers []header
	Payload payloadView
	Trace   trace
	// DeadHeaders and DeadPayload are the dead letter's.
	DeadHeaders []header
	DeadPayload payloadView
	// CanCancel: a cancel would change the message.
	CanCancel bool
	Flash     string
}

type header struct{ Key, Value string }

type trace struct {
	ID  string // the trace id of a valid traceparent header
	URL string // its page in Jaeger, when the UI knows Jaeger's URL
}

func (h *Handler) messagePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e, err := core.Explain(r.Context(), h.b, q.Get("queue"), q.Get("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := messageData{Explanation: e, State: e.State(), CanCancel: canCancel(e.Status, e.Message), Flash: cancelNote(q.Get("canceled"))}
	// The payloads are rendered only when the page shows them (as the
	// dead-letter page does): indenting or escaping one costs its size.
	var hs map[string]string
	if e.Message != nil {
		hs = e.Message.Headers
		if h.cfg.payloads {
			d.Payload = viewPayload(e.Message.Payload)
		}
	}
	if e.Dead != nil {
		d.DeadHeaders = sortedHeaders(e.Dead.Headers)
		if h.cfg.payloads {
			d.DeadPayload = viewPayload(e.Dead.Payload)
		}
		if hs == nil {
			hs = e.Dead.Headers
		}
	}
	d.Headers = sortedHeaders(hs)
	if id := traceID(hs["traceparent"]); id != "" {
		d.Trace.ID = id
		if h.cfg.jaeger != "" {
			d.Trace.URL = h.cfg.jaeger + "/trace/" + id
		}
	}
	h.render(w, r, "message", e.ID, d)
}

func sortedHeaders(m map[string]string) []header {
	out := make([]header, 0, len(m))
	for k, v := range m {
		out = append(out, header{k, v})
	}
	slices.SortFunc(out, func(a, b header) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// traceID is the trace id of a W3C traceparent header
// ("00-<32 hex>-<16 hex>-<2 hex>"), or "" if h is not one.
func traceID(h string) string {
	parts := strings.Split(strings.TrimSpace(h), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || len(parts[1]) != 32 || len(parts[2]) != 16 {
		return ""
	}
	id := parts[1]
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	if id == strings.Repeat("0", 32) {
		return ""
	}
	return id
}

// payloadView is a payload as the page shows it.
type payloadView struct {
	Text  string
	Kind  string // "json", "text", "binary" (escaped), or "" for none
	Size  int
	Cut   bool
	Empty bool
}

// maxPayloadView bounds the payload text shown on a page.
const maxPayloadView = 64 << 10

func viewPayload(p []byte) payloadView {
	v := payloadView{Size: len(p), Empty: len(p) == 0}
	if len(p) == 0 {
		return v
	}
	var buf bytes.Buffer
	switch {
	case len(p) <= maxPayloadView && json.Valid(p) && json.Indent(&buf, p, "", "  ") == nil:
		v.Text, v.Kind = buf.String(), "json"
	case utf8.Valid(p):
		// What the cut below keeps depends on the first maxPayloadView+1
		// bytes alone: copy no more.
		v.Text, v.Kind = string(p[:min(len(p), maxPayloadView+1)]), "text"
	default:
		// Each byte quotes to at least one, and a character's escape
		// depends on its own bytes (utf8.UTFMax at most): a prefix that
		// long quotes to the text the cut keeps, however large p is.
		s := strconv.QuoteToASCII(string(p[:min(len(p), maxPayloadView+utf8.UTFMax)]))
		v.Text, v.Kind = s[1:len(s)-1], "binary"
	}
	if len(v.Text) > maxPayloadView {
		v.Text, v.Cut = text.TruncateUTF8(v.Text, maxPayloadView), true
	}
	return v
}
