// Package text holds the string rules that the worker and the backends
// share, so that each is written once.
package text

import "unicode/utf8"

// TruncateUTF8 cuts s to at most n bytes without splitting a UTF-8
// sequence: the cut moves back to the start of the character it would
// split. An n of 0 or less answers "".
func TruncateUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
