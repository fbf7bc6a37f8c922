package redisqueue

import (
	"bytes"
	"maps"
	"testing"
	"time"
)

func TestBodyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		headers map[string]string
		payload []byte
	}{
		{"empty", nil, nil},
		{"payload only", nil, []byte("hello")},
		{"headers only", map[string]string{"a": "1", "b": ""}, nil},
		{"binary", map[string]string{"k\x00": "v\xff"}, []byte{0, 1, 2, 0xff}},
		{"long", map[string]string{"traceparent": string(make([]byte, 300))}, make([]byte, 70000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := packBody(tc.headers, tc.payload)
			h, p, err := unpackBody(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(h, tc.headers) || !bytes.Equal(p, tc.payload) {
				t.Fatalf("got %q %q, want %q %q", h, p, tc.headers, tc.payload)
			}
			if len(tc.headers) == 0 && h != nil {
				t.Fatal("no headers should decode to a nil map")
			}
			if len(tc.payload) == 0 && p != nil {
				t.Fatal("an empty payload should decode to nil")
			}
		})
	}
}

func TestBodyDeterministic(t *testing.T) {
	t.Parallel()
	h := map[string]string{"z": "1", "a": "2", "m": "3", "b": "4"}
	first := packBody(h, []byte("p"))
	for range 20 {
		if !bytes.Equal(packBody(h, []byte("p")), first) {
			t.Fatal("equal messages packed to different bytes")
		}
	}
}

func TestBodyCorrupt(t *testing.T) {
	t.Parallel()
	good := packBody(map[string]string{"key": "value"}, []byte("payload"))
	for _, bad := range []string{
		"",                             // no count
		"\x80",                         // unterminated varint
		"\x01",                         // a header promised, none there
		"\x01\x05ab",                   // key longer than the rest
		"\x01\x01a\x09b",               // value longer than the rest
		"\xff\xff\xff\xff\xff\xff\x01", // absurd count
		string(good[:4]),
	} {
		if _, _, err := unpackBody(bad); err == nil {
			t.Errorf("unpackBody(%q) answered no error", bad)
		}
	}
}

func TestHeader(t *testing.T) {
	t.Parallel()
	// The layout lua/lib.lua writes: '>BI4I8I6I6I6I6', then the body.
	v := []byte{3, 0, 0, 1, 2, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
	v = appendUint48(v, 1000)
	v = appendUint48(v, 2000)
	v = appendUint48(v, 3000)
	v = appendUint48(v, 4000)
	v = append(v, "body"...)
	h, err := parseHeader(string(v))
	if err != nil {
		t.Fatal(err)
	}
	want := header{flags: 3, attempts: 258, token: 0x0102030405060708, lockExp: 1000, boExp: 2000, lockMs: 3000, first: 4000}
	if h != want {
		t.Fatalf("got %+v, want %+v", h, want)
	}
	if _, err := parseHeader(string(v[:36])); err == nil {
		t.Fatal("a truncated header parsed")
	}

	// The short form: '>BI6', flag 8 and the first-enqueued time.
	v = appendUint48([]byte{8}, 4000)
	v = append(v, "body"...)
	h, err = parseHeader(string(v))
	if err != nil {
		t.Fatal(err)
	}
	if want := (header{first: 4000, short: true}); h != want {
		t.Fatalf("short form: got %+v, want %+v", h, want)
	}
	if got := string(v[h.size():]); got != "body" {
		t.Fatalf("short form: body at %d is %q, want %q", h.size(), got, "body")
	}
	if _, err := parseHeader(string(v[:6])); err == nil {
		t.Fatal("a truncated short header parsed")
	}
}

func TestMillisRoundsUp(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int64{0: 0, -time.Second: 0, time.Nanosecond: 1, time.Millisecond: 1, 1500 * time.Microsecond: 2, time.Second: 1000} {
		if got := millis(d); got != want {
			t.Errorf("millis(%v) = %d, want %d", d, got, want)
		}
	}
}

func FuzzBody(f *testing.F) {
	f.Add("k", "v", []byte("payload"), []byte{})
	f.Add("", "", []byte{}, []byte{0x80})
	f.Fuzz(func(t *testing.T, k, v string, payload, junk []byte) {
		// Whatever bytes are stored, decoding must not panic.
		_, _, _ = unpackBody(string(junk))
		headers := map[string]string{k: v}
		h, p, err := unpackBody(string(packBody(headers, payload)))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(h, headers) || !bytes.Equal(p, payload) {
			t.Fatalf("round trip: got %q %q, want %q %q", h, p, headers, payload)
		}
	})
}
