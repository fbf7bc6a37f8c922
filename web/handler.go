package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler is the web UI of one backend. It is an [http.Handler] for any
// prefix: every page lives in one directory and links to the others
// relatively, so it works behind [http.StripPrefix] and under a mux
// pattern alike. Make it with [New].
type Handler struct {
	b     core.Backend
	cfg   config
	csrf  csrf
	pages map[string]*template.Template
	// routes by the last segment of the path ("" is the queues page).
	routes map[string]route
	nav    []navItem
	rates  *rateBook
	static map[string]asset
	now    func() time.Time
}

type route struct {
	post  bool // a state-changing action: POST with a CSRF token
	serve func(w http.ResponseWriter, r *http.Request)
}

type navItem struct{ Href, Label string }

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New returns the UI of b. An invalid option is an [*core.InvalidError]
// whose Field names it. b may be any [core.Backend]; pages for optional
// capabilities appear when b implements their interfaces.
func New(b core.Backend, opts ...Option) (*Handler, error) {
	if b == nil {
		return nil, &core.InvalidError{Field: "backend", Reason: "nil backend"}
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Handler{b: b, cfg: cfg, csrf: newCSRF(), rates: newRateBook(), now: time.Now}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	if err := h.loadStatic(); err != nil {
		return nil, err
	}
	h.nav = []navItem{{"./", "Queues"}}
	h.routes = map[string]route{
		"":        {serve: h.queuesPage},
		"rows":    {serve: h.queueRows},
		"queue":   {serve: h.queuePage},
		"message": {serve: h.messagePage},
		"dead":    {serve: h.deadPage},
		"requeue": {post: true, serve: h.requeue},
		"purge":   {post: true, serve: h.purge},
		"clear":   {post: true, serve: h.clear},
		"pause":   {post: true, serve: h.pause},
		"resume":  {post: true, serve: h.resume},
		"cancel":  {post: true, serve: h.cancel},
		"workers": {serve: h.workersPage},
	}
	h.nav = append(h.nav, navItem{"workers", "Workers"})
	// Pages for optional capabilities of b are added here, each when b
	// implements its interface, with a nav entry.
	if s, ok := b.(core.ScheduleStore); ok {
		h.routes["schedules"] = route{serve: func(w http.ResponseWriter, r *http.Request) { h.schedulesPage(w, r, s) }}
		h.nav = append(h.nav, navItem{"schedules", "Schedules"})
	}
	return h, nil
}

func (h *Handler) parseTemplates() error {
	funcs := template.FuncMap{
		"plain": core.Plain,
		"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"cut":   cut,
		// since and until are the time from t to now and from now to t,
		// by the UI's clock.
		"since": func(t time.Time) string { return core.Plain(h.now().Sub(t)) },
		"until": func(t time.Time) string { return core.Plain(t.Sub(h.now())) },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return err
	}
	h.pages = make(map[string]*template.Template)
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return err
		}
		h.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

func (h *Handler) loadStatic() error {
	h.static = make(map[string]asset)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := path.Base(p)
		h.static[name] = asset{body: body, contentType: types[path.Ext(name)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
}

var _ http.Handler = (*Handler)(nil)

// ServeHTTP routes by the last segment of the path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")

	p := r.URL.Path
	if p == "" {
		// Mounted with http.StripPrefix("/admin", ...) and asked for
		// "/admin": the relative links need the trailing slash.
		redirect(w, path.Base(requestPath(r))+"/", http.StatusMovedPermanently)
		return
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	rt, ok := h.routes[name]
	a, isAsset := h.static[name]
	if !ok && !isAsset {
		h.error(w, r, http.StatusNotFound, "No such page.")
		return
	}
	if rt.post {
		if r.Method != http.MethodPost {
			hd.Set("Allow", http.MethodPost)
			h.error(w, r, http.StatusMethodNotAllowed, "This action takes a POST from its form.")
			return
		}
		if !h.cfg.actions {
			h.error(w, r, http.StatusForbidden, "Actions are off: the UI was started read-only (web.WithActions, redghost serve -actions).")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if !h.csrf.check(r) {
			h.error(w, r, http.StatusForbidden, "Missing or bad CSRF token: reload the page and try again.")
			return
		}
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		h.error(w, r, http.StatusMethodNotAllowed, "This page is read with GET.")
		return
	}
	if isAsset {
		h.serveAsset(w, r, a)
		return
	}
	rt.serve(w, r)
}

// requestPath is the (escaped) path as the browser asked for it, before
// any http.StripPrefix.
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && strings.HasPrefix(u.EscapedPath(), "/") {
		return u.EscapedPath()
	}
	return r.URL.EscapedPath()
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, a asset) {
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// pageData is what every page's template gets; Data is the page's own.
type pageData struct {
	Title    string
	Page     string
	Nav      []navItem
	Actions  bool
	Payloads bool
	CSRF     string
	Refresh  int64 // ms
	Data     any
}

// render writes page with data, status 200, or an error page if the
// template fails (before anything was written).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, page, title string, data any) {
	h.renderStatus(w, r, http.StatusOK, page, title, data)
}

func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, status int, page, title string, data any) {
	pd := pageData{
		Title:    h.cfg.title,
		Page:     title,
		Nav:      h.nav,
		Actions:  h.cfg.actions,
		Payloads: h.cfg.payloads,
		CSRF:     h.csrf.issue(w, r),
		Refresh:  h.cfg.refresh.Milliseconds(),
		Data:     data,
	}
	var buf strings.Builder
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", pd); err != nil {
		h.cfg.logger.Error("web: render", "page", page, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, buf.String())
	}
}

type errorData struct {
	Status  int
	Text    string
	Message string
}

func (h *Handler) error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.renderStatus(w, r, status, "error", http.StatusText(status),
		errorData{Status: status, Text: http.StatusText(status), Message: msg})
}

// fail reports an error of a backend call: bad input is 400, anything
// else 502 (the backend, not the UI, failed) and is logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *core.InvalidError
	switch {
	case errors.As(err, &ie):
		h.error(w, r, http.StatusBadRequest, fmt.Sprintf("Invalid %s: %s", ie.Field, ie.Reason))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The browser went away; nobody reads the answer.
	default:
		h.cfg.logger.Error("web: backend call failed", "path", r.URL.Path, "err", err)
		h.error(w, r, http.StatusBadGateway, "The backend failed: "+err.Error())
	}
}

// cut shortens s to n runes, marking the cut with "…".
func cut(n int, s string) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// redirect sends the browser to loc, relative to the page it asked for.
// (http.Redirect would resolve a relative loc against r.URL.Path, which
// http.StripPrefix has cut.)
func redirect(w http.ResponseWriter, loc string, code int) {
	w.Header().Set("Location", loc)
	w.WriteHeader(code)
}
