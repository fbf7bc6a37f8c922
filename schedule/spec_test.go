package schedule

import (
	"fmt"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2030, 3, 30, 23, 59, 59, 0, time.UTC)
	for _, tc := range []struct {
		spec string
		loc  *time.Location
		want []time.Time // the next slots after from
	}{
		{"*/30 * * * *", time.UTC, []time.Time{
			time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2030, 3, 31, 0, 30, 0, 0, time.UTC)}},
		{"15 * * * * *", time.UTC, []time.Time{ // seconds first
			time.Date(2030, 3, 31, 0, 0, 15, 0, time.UTC), time.Date(2030, 3, 31, 0, 1, 15, 0, time.UTC)}},
		{"@daily", time.UTC, []time.Time{
			time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2030, 4, 1, 0, 0, 0, 0, time.UTC)}},
		// 03:00 in Paris on the day summer time starts (02:00 -> 03:00).
		{"0 3 * * *", paris, []time.Time{
			time.Date(2030, 3, 31, 1, 0, 0, 0, time.UTC), time.Date(2030, 4, 1, 1, 0, 0, 0, time.UTC)}},
		{"CRON_TZ=Europe/Paris 0 3 * * *", time.UTC, []time.Time{
			time.Date(2030, 3, 31, 1, 0, 0, 0, time.UTC), time.Date(2030, 4, 1, 1, 0, 0, 0, time.UTC)}},
		{"@every 45m", paris, []time.Time{ // multiples of 45 minutes since the epoch, whatever the zone
			time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2030, 3, 31, 0, 45, 0, 0, time.UTC)}},
		{"@every 250ms", time.UTC, []time.Time{
			time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC).Add(-750 * time.Millisecond),
			time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC).Add(-500 * time.Millisecond)}},
	} {
		tt, err := parseSpec(tc.spec, tc.loc)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		var got []time.Time
		for s := from; len(got) < len(tc.want); {
			s = tt.next(s)
			got = append(got, s)
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%q in %v: slots %v, want %v", tc.spec, tc.loc, got, tc.want)
				break
			}
		}
	}
}

func TestLatestDue(t *testing.T) {
	t.Parallel()
	sec, _ := parseSpec("* * * * * *", time.UTC)
	min, _ := parseSpec("@every 1m", time.UTC)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		tt         timetable
		after, now time.Time
		n          int
		want       string
	}{
		{"None", min, t0, t0.Add(59 * time.Second), 3, "[]"},
		{"One", min, t0, t0.Add(90 * time.Second), 3, "[00:01:00]"},
		{"Latest", min, t0, t0.Add(10 * time.Minute), 3, "[00:08:00 00:09:00 00:10:00]"},
		{"AfterIsNotDue", min, t0.Add(time.Minute), t0.Add(2 * time.Minute), 5, "[00:02:00]"},
		{"AYearOfSeconds", sec, t0, t0.AddDate(1, 0, 0).Add(-time.Second), 2, "[23:59:58 23:59:59]"},
		{"WiderThanAWindow", min, t0, t0.Add(5 * time.Hour), 200, "first 01:41:00, 200 slots"},
	} {
		got := latestDue(tc.tt, tc.after, tc.now, tc.n)
		var s string
		if tc.n > 100 {
			s = fmt.Sprintf("first %s, %d slots", got[0].Format("15:04:05"), len(got))
		} else {
			f := make([]string, len(got))
			for i, g := range got {
				f[i] = g.Format("15:04:05")
			}
			s = fmt.Sprint(f)
		}
		if s != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, s, tc.want)
		}
	}
}
