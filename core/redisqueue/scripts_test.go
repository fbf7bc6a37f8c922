package redisqueue

import (
	"strings"
	"testing"
)

// Scripts carry only the library definitions they use, with what those
// use in turn, in library order.
func TestScriptSourceKeepsWhatIsUsed(t *testing.T) {
	src := newScriptSource("lib.lua", "status.lua")
	for _, want := range []string{"local function status(", "local function now_ms(", "local function is_done(", "local HDR ="} {
		if !strings.Contains(src, want) {
			t.Errorf("status script lacks %q", want)
		}
	}
	for _, unwanted := range []string{"local function hmget(", "local function wake(", "local function grp_dec("} {
		if strings.Contains(src, unwanted) {
			t.Errorf("status script carries %q, which it does not use", unwanted)
		}
	}
	if strings.Index(src, "local function is_done(") > strings.Index(src, "local function status(") {
		t.Error("definitions out of library order")
	}
	enq := newScriptSource("lib.lua", "lib_enqueue.lua", "enqueue.lua")
	for _, want := range []string{"local function enq(", "local function enq_copy(", "local function stage(", "local function omap("} {
		if !strings.Contains(enq, want) {
			t.Errorf("enqueue script lacks %q (used through enq)", want)
		}
	}
	// The general path's definitions come after the fast path's return.
	if i, j := strings.Index(enq, "local function enq("), strings.Index(enq, "  return answer(n)\nend"); i < j {
		t.Error("enqueue script makes the general path's closures before its fast path")
	}
	if i, j := strings.Index(enq, "local function wake("), strings.Index(enq, "  return answer(n)\nend"); i > j {
		t.Error("enqueue script defines wake after its fast path, which uses it")
	}
	if got := identifiers("local a_1 = b -- c d\nx2.y 'z'"); len(got) != 6 || got["c"] || !got["a_1"] || !got["z"] {
		t.Errorf("identifiers: %v", got)
	}
}
