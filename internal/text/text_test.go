package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateUTF8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 4, ""},
		{"abc", 3, "abc"},
		{"abc", 10, "abc"},
		{"abcd", 3, "abc"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"aé", 2, "a"},          // é is 2 bytes: not split
		{"aé", 3, "aé"},         // fits
		{"a€b", 3, "a"},         // € is 3 bytes
		{"a€b", 4, "a€"},        // cut after it
		{"😀x", 3, ""},           // a 4-byte character that does not fit
		{"😀x", 4, "😀"},          // one that does
		{"\xff\xfe", 1, "\xff"}, // invalid bytes are cut as bytes
	} {
		if got := TruncateUTF8(tc.s, tc.n); got != tc.want {
			t.Errorf("TruncateUTF8(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	// Every cut of valid text is valid text of at most n bytes, and a
	// prefix of it.
	s := strings.Repeat("añ€😀", 50)
	for n := range len(s) + 2 {
		got := TruncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) < n-3 {
			t.Fatalf("TruncateUTF8(s, %d) = %d bytes %q", n, len(got), got)
		}
	}
}
