package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/redghost/redghost/core"
)

var schedulesCmd = &command{
	name:    "schedules",
	args:    "[-json]",
	pos:     "",
	summary: "list the schedules that schedulers run",
	detail: `Lists the schedules that running schedulers (package schedule) registered
under the key prefix, sorted by queue and name: the spec, the next slot as
the scheduler that registered it last saw it, and the last slot any
scheduler enqueued. Times are in UTC; "-" is none. A registration lasts a
while after its last scheduler stops (schedule.WithRegistryTTL). Finding
them scans the keys of the database (of every master on a cluster).`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usagef("schedules: takes no arguments, got %q", args[0])
			}
			var list []core.ScheduleInfo
			err := a.call(ctx, func(ctx context.Context) (err error) {
				list, err = a.b.Schedules(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]scheduleJSON, len(list))
				for i, s := range list {
					out[i] = scheduleJSON{Queue: s.Queue, Name: s.Name, Spec: s.Spec, Next: jsonTime(s.Next), Last: jsonTime(s.Last)}
				}
				return writeJSON(a.stdout, out)
			}
			if len(list) == 0 {
				fmt.Fprintf(a.stderr, "no schedules under prefix %q\n", a.g.prefix)
				return nil
			}
			t := newTable(a.stdout)
			fmt.Fprintln(t, "QUEUE\tNAME\tSPEC\tNEXT\tLAST")
			for _, s := range list {
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", clip(s.Queue, 0), clip(s.Name, 0), clip(s.Spec, 60),
					slotTime(s.Next), slotTime(s.Last))
			}
			return t.Flush()
		}
	},
}

// scheduleJSON is one schedule in -json output.
type scheduleJSON struct {
	Queue string  `json:"queue"`
	Name  string  `json:"name"`
	Spec  string  `json:"spec"`
	Next  *string `json:"next"`
	Last  *string `json:"last"`
}

func slotTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}
