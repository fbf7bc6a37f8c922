// Package readme keeps the README's Go code honest: every Go block in
// README.md must be copied from a Go file of the repository that CI builds
// (an Example func or a program under examples/), named in an HTML comment
// on the line before the block:
//
//	<!-- code: core/example_use_test.go -->
//	```go
//	...
//	```
//
// The test fails when a block names no file, names a file that does not
// exist, or is not found in it line for line (indentation aside), so a
// README snippet cannot drift from code that compiles.
package readme

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type block struct {
	line   int    // line of the opening fence, 1-based
	source string // the file named before it, or ""
	lines  []string
}

func readmeBlocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []block
		cur    *block
		prev   string
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &block{line: n}
			p := strings.TrimSpace(prev)
			if strings.HasPrefix(p, "<!-- code:") && strings.HasSuffix(p, "-->") {
				cur.source = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(p, "<!-- code:"), "-->"))
			}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: Go block never closed", path, cur.line)
	}
	return blocks
}

// normalize drops blank lines and leading/trailing white space, so that a
// block indented one tab less than its source (a function body shown at
// the top level) still matches.
func normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		if s := strings.TrimSpace(l); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(hay, needle []string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if slices.Equal(hay[i:i+len(needle)], needle) {
			return true
		}
	}
	return false
}

func TestReadmeGoBlocksAreCompiledCode(t *testing.T) {
	root := filepath.Join("..", "..")
	blocks := readmeBlocks(t, filepath.Join(root, "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go blocks; this test would check nothing")
	}
	for _, b := range blocks {
		if b.source == "" {
			t.Errorf("README.md:%d: Go block without a `<!-- code: path -->` line naming the compiled file it is copied from", b.line)
			continue
		}
		if !strings.HasSuffix(b.source, ".go") {
			t.Errorf("README.md:%d: %s is not a Go file", b.line, b.source)
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(b.source)))
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		if !contains(normalize(strings.Split(string(data), "\n")), normalize(b.lines)) {
			t.Errorf("README.md:%d: block is not a copy of %s (every non-blank line, in order, contiguous)", b.line, b.source)
		}
	}
}

func TestContains(t *testing.T) {
	hay := normalize([]string{"a", "", "\tb", "c"})
	for _, tc := range []struct {
		needle []string
		want   bool
	}{
		{[]string{"b", "c"}, true},
		{[]string{"a", "  b"}, true},
		{[]string{"a", "c"}, false},
		{[]string{"c", "d"}, false},
	} {
		if got := contains(hay, normalize(tc.needle)); got != tc.want {
			t.Errorf("contains(%q) = %v, want %v", tc.needle, got, tc.want)
		}
	}
}
