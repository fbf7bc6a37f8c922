package main

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// seedContent makes queue "q" with m1 locked by a handler, m2 delayed by
// an hour (payload with bytes that are not text) and m3 waiting (a long
// payload).
func seedContent(e *env) {
	e.t.Helper()
	e.publish("q", "m1", `{"n":1}`, core.WithHeader("tenant", "acme"))
	e.publish("q", "m2", "\x00\xffhi\n", core.WithDelay(time.Hour))
	e.publish("q", "m3", strings.Repeat("x", 100))
	if d := e.take("q", 1); d[0].ID != "m1" {
		e.t.Fatalf("took %s, want m1", d[0].ID)
	}
}

// rows splits a table into its header and rows keyed by the first column;
// cells never hold spaces in these tests.
func rows(t *testing.T, table string) (header []string, byID map[string][]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	header = strings.Fields(lines[0])
	byID = make(map[string][]string)
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != len(header) {
			t.Fatalf("row %q has %d cells, header %d", l, len(f), len(header))
		}
		byID[f[0]] = f
	}
	return header, byID
}

var (
	shortAge = regexp.MustCompile(`^(<1ms|\d+ms|\d+\.\ds)$`)
	nearHour = regexp.MustCompile(`^(59m\d\ds|1h00m)$`)
)

func TestContent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedContent(e)

	r := e.cli("", "content", "q")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	header, got := rows(t, r.stdout)
	if want := []string{"ID", "STATUS", "ATTEMPT", "AGE", "BACKOFF", "LOCK-LEFT", "REQUEUE"}; !slices.Equal(header, want) {
		t.Errorf("header %q, want %q", header, want)
	}
	// Age, backoff and lock left are by the server's clock: the message
	// is milliseconds old, the delay and the lock an hour less that.
	for id, want := range map[string][]*regexp.Regexp{
		"m1": {exact("m1"), exact("locked"), exact("1"), shortAge, exact("-"), nearHour, exact("-")},
		"m2": {exact("m2"), exact("queued-with-backoff"), exact("0"), shortAge, nearHour, exact("-"), exact("-")},
		"m3": {exact("m3"), exact("queued"), exact("0"), shortAge, exact("-"), exact("-"), exact("-")},
	} {
		row := got[id]
		if row == nil {
			t.Errorf("no row for %s in:\n%s", id, r.stdout)
			continue
		}
		for i, re := range want {
			if !re.MatchString(row[i]) {
				t.Errorf("%s: %s = %q, want %s", id, header[i], row[i], re)
			}
		}
	}
	if len(got) != 3 {
		t.Errorf("%d rows, want 3:\n%s", len(got), r.stdout)
	}

	// -payload: escaped, cut to -width.
	for _, c := range []struct {
		width string
		want  map[string]string
	}{
		{"60", map[string]string{"m1": `{"n":1}`, "m2": `\x00\xffhi\n`, "m3": strings.Repeat("x", 59) + "…"}},
		{"8", map[string]string{"m1": `{"n":1}`, "m2": `\x00…`, "m3": strings.Repeat("x", 7) + "…"}},
		{"0", map[string]string{"m1": `{"n":1}`, "m2": `\x00\xffhi\n`, "m3": strings.Repeat("x", 100)}},
	} {
		r := e.cli("", "content", "-payload", "-width", c.width, "q")
		_, got := rows(t, r.stdout)
		for id, want := range c.want {
			if p := got[id][7]; p != want {
				t.Errorf("-width %s: payload of %s = %q, want %q", c.width, id, p, want)
			}
		}
	}

	// A queue with nothing in it.
	e.cli("", "content", "nosuch").want(t, 0, "", `no messages in "nosuch"`+"\n")
	// A cursor this backend did not make is bad input.
	e.cli("", "content", "-cursor", "zz", "q").want(t, 2, "", `redghost: invalid cursor: "zz" is not a cursor of this backend`+"\n")
}

func exact(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }

// Following the cursor printed on stderr pages through every message
// exactly once.
func TestContentPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var want []string
	for i := range 25 {
		id := "p" + string(rune('a'+i))
		e.publish("pages", id, "x")
		want = append(want, id)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatalf("no end after %d pages", pages)
		}
		r := e.cli("", "content", "pages", "-limit", "4", "-cursor", cursor)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if r.stdout != "" {
			_, got := rows(t, r.stdout)
			if len(got) > 4 {
				t.Errorf("page of %d rows with -limit 4", len(got))
			}
			for id := range got {
				seen = append(seen, id)
			}
		}
		next, ok := strings.CutPrefix(r.stderr, "next page: -cursor ")
		if !ok {
			if r.stderr != "" && r.stderr != `no more messages in "pages"`+"\n" {
				t.Errorf("last page: stderr %q", r.stderr)
			}
			break
		}
		cursor = strings.TrimSuffix(next, "\n")
	}
	slices.Sort(seen)
	if !slices.Equal(seen, want) {
		t.Errorf("paged through %q, want %q", seen, want)
	}
}

func TestContentJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedContent(e)
	decode := func(args ...string) contentPageJSON {
		t.Helper()
		r := e.cli("", append([]string{"content", "-json"}, args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		var p contentPageJSON
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
			t.Fatalf("%v in %s", err, r.stdout)
		}
		slices.SortFunc(p.Messages, func(a, b messageJSON) int { return strings.Compare(a.ID, b.ID) })
		return p
	}

	p := decode("q")
	if p.Queue != "q" || p.NextCursor != "" || len(p.Messages) != 3 {
		t.Fatalf("page %+v", p)
	}
	m1, m2, m3 := p.Messages[0], p.Messages[1], p.Messages[2]
	if m1.ID != "m1" || m1.Status != "locked" || m1.Attempt != 1 || m1.Headers["tenant"] != "acme" ||
		m1.LockLeftMS < 59*60*1000 || m1.LockLeftMS > 3600*1000 || m1.BackoffMS != 0 || m1.Requeue {
		t.Errorf("m1 %+v", m1)
	}
	if m2.ID != "m2" || m2.Status != "queued-with-backoff" || m2.BackoffMS < 59*60*1000 || m2.AgeMS < 0 || m2.AgeMS > 10000 {
		t.Errorf("m2 %+v", m2)
	}
	if m3.ID != "m3" || m3.Status != "queued" || m3.Attempt != 0 {
		t.Errorf("m3 %+v", m3)
	}
	for _, m := range p.Messages {
		if m.Payload != nil || m.PayloadBase64 != nil {
			t.Errorf("%s: payload without -payload", m.ID)
		}
	}

	p = decode("-payload", "q")
	m1, m2, m3 = p.Messages[0], p.Messages[1], p.Messages[2]
	if m1.Payload == nil || *m1.Payload != `{"n":1}` || m1.PayloadBase64 != nil {
		t.Errorf("m1 payload %v %v", m1.Payload, m1.PayloadBase64)
	}
	if m2.Payload != nil || m2.PayloadBase64 == nil || *m2.PayloadBase64 != base64.StdEncoding.EncodeToString([]byte("\x00\xffhi\n")) {
		t.Errorf("m2 payload %v %v", m2.Payload, m2.PayloadBase64)
	}
	if m3.Payload == nil || *m3.Payload != strings.Repeat("x", 100) { // whole: -width is for tables
		t.Errorf("m3 payload %v", m3.Payload)
	}

	p = decode("-limit", "1", "q")
	if len(p.Messages) != 1 || p.NextCursor == "" {
		t.Errorf("-limit 1: %d messages, next %q", len(p.Messages), p.NextCursor)
	}
}
