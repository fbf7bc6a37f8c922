package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// timetable answers a schedule's slots: next is the first slot after t
// (the zero time if there is none).
type timetable interface {
	next(t time.Time) time.Time
}

// every is a fixed interval whose slots are the multiples of the interval
// since the Unix epoch, so that every process computes the same slots
// whatever its start time.
type every struct{ ms int64 }

func (e every) next(t time.Time) time.Time {
	ms := t.UnixMilli()
	n := ms - ms%e.ms
	if ms < 0 && ms%e.ms != 0 {
		n -= e.ms
	}
	return time.UnixMilli(n + e.ms).UTC()
}

// cronTable is a parsed cron expression or descriptor.
type cronTable struct{ s cron.Schedule }

func (c cronTable) next(t time.Time) time.Time { return c.s.Next(t) }

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSpec parses spec in loc (a "CRON_TZ=" or "TZ=" prefix in spec
// wins over loc).
func parseSpec(spec string, loc *time.Location) (t timetable, err error) {
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("@every needs a duration such as @every 5m: %v", err)
		}
		if d < time.Millisecond || d%time.Millisecond != 0 {
			return nil, fmt.Errorf("@every %s: the interval must be a positive whole number of milliseconds", d)
		}
		return every{ms: d.Milliseconds()}, nil
	}
	hasTZ := strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")
	if hasTZ && !strings.Contains(spec, " ") {
		return nil, fmt.Errorf("%q: a time zone prefix needs an expression after it", spec)
	}
	defer func() { // the parser must not take the program down on a typo
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%q does not parse: %v", spec, r)
		}
	}()
	s, err := parser.Parse(spec)
	if err != nil {
		return nil, err
	}
	if ss, ok := s.(*cron.SpecSchedule); ok && !hasTZ {
		ss.Location = loc
	}
	if _, ok := s.(cron.ConstantDelaySchedule); ok {
		return nil, fmt.Errorf("%q: unsupported", spec) // @every is handled above
	}
	return cronTable{s}, nil
}

// latestDue answers the latest n slots of t in (after, now], oldest
// first. It looks back from now in windows that double, so that a long
// downtime of a frequent schedule costs about the slots of the window
// that holds the n it keeps, not every slot missed.
func latestDue(t timetable, after, now time.Time, n int) []time.Time {
	if n <= 0 || !now.After(after) {
		return nil
	}
	for w := time.Hour; ; w *= 2 {
		from := now.Add(-w)
		if w > now.Sub(after) || !from.After(after) {
			from = after
		}
		var due []time.Time
		for s := t.next(from); !s.IsZero() && !s.After(now); s = t.next(s) {
			due = append(due, s)
			if len(due) > n {
				due = due[1:]
			}
		}
		if len(due) == n || from.Equal(after) {
			return due
		}
	}
}
