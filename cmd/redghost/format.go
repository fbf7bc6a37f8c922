package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// newTable aligns tab-separated columns with two spaces between them.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clip escapes s for one line of a terminal and shortens the result to at
// most max characters, the last of them "…" when something was cut (max 0:
// no limit). Escapes are never cut in half. Printable text stays as it
// is (quotes too, so JSON stays readable); a backslash is doubled; \n, \r
// and \t are written so; other non-printable runes as \uXXXX (\xXX below
// 0x80) and bytes that are not UTF-8 as \xXX.
func clip(s string, max int) string {
	var b strings.Builder
	n := 0 // characters written
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var e string
		switch {
		case r == utf8.RuneError && size == 1:
			e = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\\':
			e = `\\`
		case r == '\n':
			e = `\n`
		case r == '\r':
			e = `\r`
		case r == '\t':
			e = `\t`
		case r < 0x80 && !unicode.IsPrint(r):
			e = fmt.Sprintf(`\x%02x`, r)
		case !unicode.IsPrint(r):
			e = strconv.QuoteRuneToASCII(r)
			e = e[1 : len(e)-1]
		default:
			e = string(r)
		}
		i += size
		w := utf8.RuneCountInString(e)
		// Room for e, and for "…" unless e ends the text.
		if max > 0 && (n+w > max || (i < len(s) && n+w == max)) {
			b.WriteString("…")
			return b.String()
		}
		b.WriteString(e)
		n += w
	}
	return b.String()
}

// duration prints a duration for a table: "-" for none, then ms, tenths
// of seconds, m+s, h+m or d+h, cut (not rounded) to the unit shown.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d < time.Minute:
		return fmt.Sprintf("%d.%ds", d/time.Second, d%time.Second/(100*time.Millisecond))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dd%02dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

// timestamp prints a backend time in UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// plural is "1 message", "2 messages".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

// cell is clip for a table cell: an empty text is "-", like every empty cell.
func cell(s string, max int) string {
	if s == "" {
		return "-"
	}
	return clip(s, max)
}

// yesNo prints a flag for a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

// jsonPayload carries a payload in JSON: as text when it is UTF-8, else
// in base64.
type jsonPayload struct {
	Payload       *string `json:"payload,omitempty"`
	PayloadBase64 *string `json:"payload_base64,omitempty"`
}

func newJSONPayload(p []byte, show bool) jsonPayload {
	if !show {
		return jsonPayload{}
	}
	if utf8.Valid(p) {
		s := string(p)
		return jsonPayload{Payload: &s}
	}
	s := base64.StdEncoding.EncodeToString(p)
	return jsonPayload{PayloadBase64: &s}
}
