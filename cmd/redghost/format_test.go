package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 0, ""},
		{`{"to":"a b"}`, 0, `{"to":"a b"}`},
		{"naïve ✓", 0, "naïve ✓"},
		{"a\nb\r\tc\\d", 0, `a\nb\r\tc\\d`},
		{"\x00\x1b[2J\x7f", 0, `\x00\x1b[2J\x7f`},
		{"\xff\xfeok", 0, `\xff\xfeok`},
		{"zero\u200bwidth\u00a0nbsp\u2028ls", 0, `zero\u200bwidth\u00a0nbsp\u2028ls`},
		{"\U000e0001tag", 0, `\U000e0001tag`},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"abcdefg", 1, "…"},
		{"ab\ncd", 4, "ab…"}, // \n does not fit before the mark: not cut in half
		{"ab\ncd", 5, `ab\n…`},
		{"ab\n", 4, `ab\n`},
		{"ääääää", 3, "ää…"},
	} {
		if got := clip(c.in, c.max); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "-"},
		{-time.Second, "-"},
		{500 * time.Microsecond, "<1ms"},
		{time.Millisecond, "1ms"},
		{999 * time.Millisecond, "999ms"},
		{time.Second, "1.0s"},
		{59999 * time.Millisecond, "59.9s"},
		{time.Minute, "1m00s"},
		{59*time.Minute + 59*time.Second + 999*time.Millisecond, "59m59s"},
		{time.Hour, "1h00m"},
		{25*time.Hour + 30*time.Minute, "1d01h"},
		{400 * 24 * time.Hour, "400d00h"},
	} {
		if got := duration(c.d); got != c.want {
			t.Errorf("duration(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

// The content table with fixed values: every column as an operator sees it.
func TestContentTable(t *testing.T) {
	t.Parallel()
	msgs := []core.MessageInfo{
		{ID: "m1", Status: core.StatusLocked, Attempt: 2, Age: 90 * time.Second, LockLeft: 25 * time.Second,
			Requeue: true, Payload: []byte(`{"n":1}`)},
		{ID: "m-2 long", Status: core.StatusQueuedWithBackoff, Age: 3 * time.Hour, Backoff: 10 * time.Minute,
			Payload: []byte("\x00\xffline\nnext line that goes on")},
		{ID: "m3", Status: core.StatusQueued, Age: 12 * time.Millisecond},
	}
	var b bytes.Buffer
	if err := contentTable(&b, msgs, false, 60); err != nil {
		t.Fatal(err)
	}
	want := `ID        STATUS               ATTEMPT  AGE    BACKOFF  LOCK-LEFT  REQUEUE
m1        locked               2        1m30s  -        25.0s      yes
m-2 long  queued-with-backoff  0        3h00m  10m00s   -          -
m3        queued               0        12ms   -        -          -
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := contentTable(&b, msgs, true, 20); err != nil {
		t.Fatal(err)
	}
	want = `ID        STATUS               ATTEMPT  AGE    BACKOFF  LOCK-LEFT  REQUEUE  PAYLOAD
m1        locked               2        1m30s  -        25.0s      yes      {"n":1}
m-2 long  queued-with-backoff  0        3h00m  10m00s   -          -        \x00\xffline\nnext …
m3        queued               0        12ms   -        -          -        -
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestDeadTable(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.FixedZone("x", 3600))
	dead := []core.DeadLetter{
		{ID: "d2", Attempt: 3, FailedAt: at, Error: "upstream said:\n503 Service Unavailable", Payload: []byte("p2")},
		{ID: "d1", Attempt: 1, FailedAt: at.Add(-time.Hour), Payload: []byte("p1")},
	}
	var b bytes.Buffer
	if err := deadTable(&b, dead, true, 20); err != nil {
		t.Fatal(err)
	}
	want := `ID  ATTEMPT  FAILED                    ERROR                 PAYLOAD
d2  3        2026-03-04T04:06:07.891Z  upstream said:\n503…  p2
d1  1        2026-03-04T03:06:07.891Z  -                     p1
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
