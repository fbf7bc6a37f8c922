package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	const usage = "usage: email [-v]"
	for _, c := range []struct {
		args       []string
		code       int
		wantStderr []string
	}{
		{[]string{"-bogus"}, 2, []string{"flag provided but not defined: -bogus", usage, "-v"}},
		{[]string{"--verbose"}, 2, []string{"flag provided but not defined: -verbose", usage}},
		{[]string{"-v=maybe"}, 2, []string{`invalid boolean value "maybe" for -v`, usage}},
		{[]string{"extra"}, 2, []string{`email: unexpected argument "extra"`, usage}},
		{[]string{"-v", "extra"}, 2, []string{`email: unexpected argument "extra"`, usage}},
		{[]string{"-h"}, 0, []string{usage, "log every handling"}},
	} {
		var out, errb bytes.Buffer
		code := cli(c.args, &out, &errb)
		if code != c.code || out.Len() != 0 {
			t.Errorf("%q: exit %d, want %d; stdout %q", c.args, code, c.code, out.String())
		}
		for _, w := range c.wantStderr {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%q: stderr lacks %q:\n%s", c.args, w, errb.String())
			}
		}
	}
}

// -v tells the same story, with a log line for every handling.
func TestVerbose(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli([]string{"-v"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "1. welcome emails\n") || !strings.HasSuffix(out.String(), "published 11: 8 sent, 3 dead letters, 0 waiting\n") {
		t.Errorf("story:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "level=DEBUG") || !strings.Contains(errb.String(), "welcome-ann") {
		t.Errorf("no log line of a success on stderr:\n%s", errb.String())
	}
}
