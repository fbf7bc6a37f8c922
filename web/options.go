package web

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// Option configures a [Handler]. Options are checked once, by [New].
type Option func(*config)

type config struct {
	actions  bool
	payloads bool
	jaeger   string
	refresh  time.Duration
	pageSize int
	logger   *slog.Logger
	title    string
}

// Defaults of the options.
const (
	DefaultRefresh  = 2 * time.Second
	DefaultPageSize = 100
	// MaxPageSize bounds [WithPageSize].
	MaxPageSize = 1000
)

func defaultConfig() config {
	return config{refresh: DefaultRefresh, pageSize: DefaultPageSize, logger: slog.New(slog.DiscardHandler), title: "Red Ghost"}
}

// WithActions turns on the actions that change queues: pause and resume a
// queue, cancel a message, requeue and purge dead letters, clear a queue. They are off by default: the UI then only
// reads, and refuses every POST with 403.
func WithActions(on bool) Option { return func(c *config) { c.actions = on } }

// WithPayloads shows message and dead-letter payloads (JSON indented).
// They are hidden by default, as they may hold personal data; headers and
// error texts are always shown.
func WithPayloads(on bool) Option { return func(c *config) { c.payloads = on } }

// WithJaegerURL links a message whose headers carry a W3C traceparent to
// its trace in the Jaeger UI at base (for example
// "http://localhost:16686"): the link is base + "/trace/" + the trace id.
// base must be an absolute http or https URL. Without it, the trace id is
// shown without a link.
func WithJaegerURL(base string) Option { return func(c *config) { c.jaeger = base } }

// WithRefresh sets how often the queues page reads the counts again
// (default [DefaultRefresh]; at least 100ms).
func WithRefresh(d time.Duration) Option { return func(c *config) { c.refresh = d } }

// WithPageSize sets how many messages or dead letters a page lists
// (default [DefaultPageSize], 1 to [MaxPageSize]).
func WithPageSize(n int) Option { return func(c *config) { c.pageSize = n } }

// WithLogger sets where backend errors met while serving a page are
// logged (default: nowhere; the page shows them either way).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTitle sets the name shown at the top of every page (default
// "Red Ghost"), for telling several deployments apart.
func WithTitle(s string) Option { return func(c *config) { c.title = s } }

func (c *config) validate() error {
	bad := func(field, format string, args ...any) error {
		return &core.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.jaeger != "" {
		u, err := url.Parse(c.jaeger)
		switch {
		case err != nil:
			return bad("WithJaegerURL", "not a URL: %q", c.jaeger)
		case u.Scheme != "http" && u.Scheme != "https":
			return bad("WithJaegerURL", "want an http or https URL, got %q", c.jaeger)
		case u.Host == "":
			return bad("WithJaegerURL", "no host in %q", c.jaeger)
		case u.RawQuery != "" || u.Fragment != "":
			return bad("WithJaegerURL", "want a base URL without query or fragment, got %q", c.jaeger)
		}
		c.jaeger = strings.TrimRight(c.jaeger, "/")
	}
	if c.refresh < 100*time.Millisecond {
		return bad("WithRefresh", "want at least 100ms, got %s", c.refresh)
	}
	if c.pageSize < 1 || c.pageSize > MaxPageSize {
		return bad("WithPageSize", "want 1 to %d, got %d", MaxPageSize, c.pageSize)
	}
	if c.logger == nil {
		return bad("WithLogger", "nil logger")
	}
	if strings.TrimSpace(c.title) == "" {
		return bad("WithTitle", "empty title")
	}
	return nil
}
