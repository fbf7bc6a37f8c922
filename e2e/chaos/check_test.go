package chaos_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tally reads the record files of a scenario (the producer's and each
// worker's, see roles_test.go) as they grow.
type tally struct {
	dir     string
	offsets map[string]int64

	accepted map[string]time.Time // id -> when the producer's enqueue was answered
	maybe    map[string]bool      // ids whose enqueue failed at least once
	handled  map[string][]handling
	stats    map[string]string // worker -> its stats line
	ended    string            // the producer's end line
}

type handling struct {
	attempt int
	pid     int
	at      time.Time
}

func newTally(dir string) *tally {
	return &tally{
		dir: dir, offsets: make(map[string]int64),
		accepted: make(map[string]time.Time), maybe: make(map[string]bool),
		handled: make(map[string][]handling), stats: make(map[string]string),
	}
}

// update reads what the files gained since the last call, whole lines only.
func (t *tally) update() {
	files, _ := filepath.Glob(filepath.Join(t.dir, "*.log"))
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		off := t.offsets[path]
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		end := bytes.LastIndexByte(b, '\n')
		if end < 0 {
			continue
		}
		t.offsets[path] = off + int64(end) + 1
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		for _, line := range strings.Split(string(b[:end]), "\n") {
			t.line(name, line)
		}
	}
}

func (t *tally) line(file, line string) {
	f := strings.Fields(line)
	switch {
	case len(f) == 0:
	case f[0] == "ok" && len(f) == 3:
		if _, ok := t.accepted[f[1]]; !ok {
			t.accepted[f[1]] = unixNano(f[2])
		}
	case f[0] == "maybe" && len(f) == 3:
		t.maybe[f[1]] = true
	case f[0] == "end":
		t.ended = line
	case f[0] == "stats":
		t.stats[file] = line
	case len(f) == 4:
		attempt, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(f[2])
		t.handled[f[0]] = append(t.handled[f[0]], handling{attempt: attempt, pid: pid, at: unixNano(f[3])})
	}
}

func unixNano(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(0, n)
}

// missing lists the accepted ids not handled yet, sorted.
func (t *tally) missing() []string {
	var ids []string
	for id := range t.accepted {
		if len(t.handled[id]) == 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// result is what a scenario's check found; line() is its one-line report.
type result struct {
	name      string
	sent      int // accepted by the backend
	maybe     int // enqueues that failed at least once (may have applied)
	handled   int // distinct ids handled
	lost      []string
	unknown   []string // handled, never sent: must not happen
	dups      int      // handlings beyond the first
	again     int      // handlings with attempt > 1 (lock expired, or retried)
	inflight  int      // messages locked at the faults, plus maybe-sent
	unsynced  int      // messages enqueued or handled in an unsynced window before a fault
	faults    int
	recovery  time.Duration // the longest: from a fault until what it held was handled, or from its end until handling resumed
	lossLimit int           // losses tolerated (AOF everysec)
}

func (r result) line() string {
	l := fmt.Sprintf("%-24s sent=%d handled=%d lost=%d dup=%d inflight=%d maybe=%d faults=%d recovery=%s",
		r.name+":", r.sent, r.handled, len(r.lost), r.dups, r.inflight, r.maybe, r.faults, r.recovery.Round(10*time.Millisecond))
	if r.unsynced > 0 {
		l += fmt.Sprintf(" unsynced=%d", r.unsynced)
	}
	return l
}

// check counts every id in and out.
func (s *scenario) check() result {
	s.tally.update()
	t := s.tally
	r := result{name: s.name, sent: len(t.accepted), maybe: len(t.maybe), faults: len(s.faults)}
	for id, hs := range t.handled {
		r.handled++
		r.dups += len(hs) - 1
		for _, h := range hs {
			if h.attempt > 1 {
				r.again++
			}
		}
		if _, ok := t.accepted[id]; !ok && !t.maybe[id] {
			r.unknown = append(r.unknown, id)
		}
	}
	for _, id := range t.missing() {
		if s.except[id] {
			continue
		}
		r.lost = append(r.lost, id)
		if s.excused(t.accepted[id]) {
			r.lossLimit++
		}
	}
	r.inflight = len(t.maybe)
	for _, f := range s.faults {
		r.inflight += len(f.locked)
		if f.unsynced > 0 && f.unsynced < time.Hour {
			// What Redis took in the window it may forget: enqueues (lost,
			// or handled again if their handling is forgotten) and acks.
			from := f.start.Add(-f.unsynced)
			for id, at := range t.accepted {
				if !at.Before(from) && !at.After(f.start) && !f.locked[id] {
					r.unsynced++
				}
			}
			for id, hs := range t.handled {
				for _, h := range hs {
					if !h.at.Before(from) && !h.at.After(f.start) && !f.locked[id] {
						r.unsynced++
						break
					}
				}
			}
		}
		// Recovery: from the fault until every message held at it had
		// been handled (by any worker), and from its end until the workers
		// handled messages again.
		end := f.end
		if end.IsZero() {
			end = f.start
		}
		var held, next time.Time
		for id, hs := range t.handled {
			for _, h := range hs {
				if f.locked[id] && !h.at.Before(f.start) {
					if h.at.After(held) {
						held = h.at
					}
					break
				}
			}
			for _, h := range hs {
				if h.at.After(end) && (next.IsZero() || h.at.Before(next)) {
					next = h.at
				}
			}
		}
		if d := held.Sub(f.start); !held.IsZero() && d > r.recovery {
			r.recovery = d
		}
		if d := next.Sub(end); !next.IsZero() && d > r.recovery {
			r.recovery = d
		}
	}
	return r
}

// verify reports r and fails the test on any loss beyond r.lossLimit, any
// id handled that was never sent, or more duplicates than messages in
// flight at the faults.
func (s *scenario) verify(r result) {
	s.t.Helper()
	s.t.Log(r.line())
	if len(r.lost) > r.lossLimit {
		s.t.Errorf("%s: %d accepted messages never handled (tolerated %d): %s", r.name, len(r.lost), r.lossLimit, first(r.lost, 10))
	}
	if len(r.unknown) > 0 {
		s.t.Errorf("%s: %d handled ids were never sent: %s", r.name, len(r.unknown), first(r.unknown, 10))
	}
	if r.dups > r.inflight+r.unsynced {
		s.t.Errorf("%s: %d duplicate handlings, more than the %d messages in flight at the faults (and %d unsynced)", r.name, r.dups, r.inflight, r.unsynced)
	}
}
