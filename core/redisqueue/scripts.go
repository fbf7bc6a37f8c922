package redisqueue

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// Every script is the definitions it uses from lib.lua (and, for those
// that enqueue, lib_enqueue.lua) followed by its own file, headed by the
// Redis 7 shebang that says whether it may run on a full Redis (oom.go).
// redis.Script runs EVALSHA and falls back to EVAL when the server does
// not have the script yet.
var (
	scriptEnqueue     = newScript(shebangDenyOOM, "lib.lua", "lib_enqueue.lua", "enqueue.lua")
	scriptDequeue     = newScript(shebangAllowOOM, "lib.lua", "dequeue.lua")
	scriptAck         = newScript(shebangAllowOOM, "lib.lua", "ack.lua")
	scriptExtend      = newScript(shebangAllowOOM, "lib.lua", "extend.lua")
	scriptStatus      = newScript("", "lib.lua", "status.lua")
	scriptStats       = newScript("", "lib.lua", "stats.lua")
	scriptContent     = newScript("", "lib.lua", "content.lua")
	scriptMessage     = newScript("", "lib.lua", "message.lua")
	scriptDeadList    = newScript("", "lib.lua", "dead_list.lua")
	scriptDeadRequeue = newScript(shebangDenyOOM, "lib.lua", "lib_enqueue.lua", "dead_requeue.lua")
	scriptSlotEnqueue = newScript(shebangDenyOOM, "lib.lua", "lib_enqueue.lua", "slot_enqueue.lua")
	scriptSchedReg    = newScript(shebangDenyOOM, "lib.lua", "sched_register.lua")
	scriptSchedList   = newScript("", "lib.lua", "sched_list.lua")
	scriptCancel      = newScript(shebangAllowOOM, "lib.lua", "cancel.lua")
	scriptResume      = newScript(shebangAllowOOM, "lib.lua", "resume.lua")
	scriptWorkersReg  = newScript(shebangDenyOOM, "lib.lua", "workers_register.lua")
	scriptWorkersList = newScript(shebangAllowOOM, "lib.lua", "workers_list.lua")
)

// newScriptSource joins the library files (all but the last) and the
// script (the last), keeping only the library definitions that the script
// uses, directly or through other kept definitions, in library order.
// Redis runs a script's whole body on every call, and each "local
// function" there makes a closure: unused helpers cost about 0.05 us each
// per call. A script may hold a line "-- @defs": definitions used only
// after it (by a slow path after an early return) are placed there, so
// that the fast path before it does not make them.
func newScriptSource(files ...string) string {
	read := func(f string) string {
		b, err := luaFiles.ReadFile("lua/" + f)
		if err != nil {
			panic(err) // embedded: cannot happen unless the build is broken
		}
		return string(b)
	}
	var defs []luaDef
	for _, f := range files[:len(files)-1] {
		defs = append(defs, splitDefs(read(f))...)
	}
	return joinScript(defs, read(files[len(files)-1]))
}

// joinScript is main preceded by the definitions of defs it uses (see
// newScriptSource).
func joinScript(defs []luaDef, main string) string {
	head, tail, split := strings.Cut(main, "\n-- @defs\n")
	top := closure(defs, identifiers(head), nil)
	var src strings.Builder
	for i, d := range defs {
		if top[i] {
			src.WriteString(d.src)
		}
	}
	src.WriteString(head)
	if split {
		later := closure(defs, identifiers(tail), top)
		src.WriteString("\n")
		for i, d := range defs {
			if later[i] {
				src.WriteString(d.src)
			}
		}
		src.WriteString(tail)
	}
	src.WriteByte('\n')
	return src.String()
}

// closure marks the definitions that used needs, directly or through other
// marked definitions, leaving out those already in have.
func closure(defs []luaDef, used map[string]bool, have []bool) []bool {
	keep := make([]bool, len(defs))
	for changed := true; changed; {
		changed = false
		for i, d := range defs {
			if keep[i] || (have != nil && have[i]) || !d.usedBy(used) {
				continue
			}
			keep[i], changed = true, true
			for id := range identifiers(d.src) {
				used[id] = true
			}
		}
	}
	return keep
}

// luaDef is one top-level definition of a library file: from a line that
// starts with "local" up to the next such line (comments before a
// definition end up with the previous one, which is harmless).
type luaDef struct {
	names []string // what it defines
	src   string
}

func (d luaDef) usedBy(used map[string]bool) bool {
	for _, n := range d.names {
		if used[n] {
			return true
		}
	}
	return false
}

func splitDefs(lib string) []luaDef {
	var defs []luaDef
	for _, line := range strings.SplitAfter(lib, "\n") {
		if rest, ok := strings.CutPrefix(line, "local "); ok {
			var names []string
			if fn, ok := strings.CutPrefix(rest, "function "); ok {
				names = []string{fn[:strings.IndexByte(fn, '(')]}
			} else {
				lhs, _, _ := strings.Cut(rest, "=")
				for _, n := range strings.Split(lhs, ",") {
					names = append(names, strings.TrimSpace(n))
				}
			}
			defs = append(defs, luaDef{names: names})
		}
		if len(defs) > 0 { // lines before the first definition are comments
			defs[len(defs)-1].src += line
		}
	}
	return defs
}

// identifiers answers the set of Lua identifiers in src outside "--"
// comments (strings included: a spurious one only keeps a definition; a
// missing definition fails every call of the script, which the tests
// would see).
func identifiers(src string) map[string]bool {
	var code strings.Builder
	for _, line := range strings.Split(src, "\n") {
		line, _, _ = strings.Cut(line, "--")
		code.WriteString(line)
		code.WriteByte('\n')
	}
	src = code.String()
	ids := make(map[string]bool)
	start := -1
	for i := 0; i <= len(src); i++ {
		word := i < len(src) && (src[i] == '_' || 'a' <= src[i] && src[i] <= 'z' || 'A' <= src[i] && src[i] <= 'Z' || start >= 0 && '0' <= src[i] && src[i] <= '9')
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			ids[src[start:i]] = true
			start = -1
		}
	}
	return ids
}

// Reply decoding. Scripts answer arrays of integers and bulk strings.

func replyArray(v any) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("redisqueue: unexpected script reply %T", v)
	}
	return a, nil
}

func replyInt(v any) (int64, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("redisqueue: unexpected script reply %T, want an integer", v)
	}
	return n, nil
}

func replyString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("redisqueue: unexpected script reply %T, want a string", v)
	}
	return s, nil
}

// replyInts decodes an array of n integers.
func replyInts(v any, n int) ([]int64, error) {
	a, err := replyArray(v)
	if err != nil {
		return nil, err
	}
	if len(a) != n {
		return nil, fmt.Errorf("redisqueue: script answered %d entries for %d", len(a), n)
	}
	out := make([]int64, n)
	for i, e := range a {
		if out[i], err = replyInt(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replyPair decodes two strings (an id and a stored value).
func replyPair(a []any) (id, v string, err error) {
	if id, err = replyString(a[0]); err != nil {
		return
	}
	v, err = replyString(a[1])
	return
}
