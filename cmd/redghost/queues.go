package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redghost/redghost/core"
)

var queuesCmd = &command{
	name:    "queues",
	args:    "[-json]",
	pos:     "",
	summary: "list the queues with their counts",
	detail: `Lists every queue under the key prefix that holds messages or dead letters
or is paused, sorted by name, with its counts by status, how long its
longest-waiting queued message has waited (OLDEST) and whether it is paused
('redghost pause'). Finding the names scans the keys of the database (of
every master on a cluster); each queue's counts are then read in O(1).`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usagef("queues: takes no arguments, got %q", args[0])
			}
			var names []string
			err := a.call(ctx, func(ctx context.Context) (err error) {
				names, err = a.b.QueueNames(ctx)
				return err
			})
			if err != nil {
				return err
			}
			stats, err := a.stats(ctx, names)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, statsJSON(names, stats))
			}
			if len(names) == 0 {
				fmt.Fprintf(a.stderr, "no queues under prefix %q\n", a.g.prefix)
				return nil
			}
			return statsTable(a.stdout, names, stats)
		}
	},
}

var statsCmd = &command{
	name:    "stats",
	args:    "[-json] QUEUE...",
	pos:     "QUEUE...",
	summary: "the counts of the named queues",
	detail: `Prints the counts of the named queues by status, in O(1) per queue: queued
(waiting), locked (with a handler), backoff (delayed or retrying later),
done (handled, not yet collected), their total, and dead letters; then
OLDEST, how long the longest-waiting queued message has been ready to
handle (since it was enqueued, or since its delay, backoff or lock expired
or it was retried; "-" when nothing is queued): the number to watch when
workers fall behind; and whether the queue is paused ('redghost pause'). A
queue that does not exist counts zero. Locked and backoff may include
entries whose lock or backoff expired a moment ago.`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usagef("stats: missing queue name")
			}
			names, err := validQueues(args)
			if err != nil {
				return err
			}
			stats, err := a.stats(ctx, names)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, statsJSON(names, stats))
			}
			return statsTable(a.stdout, names, stats)
		}
	},
}

func statsTable(w io.Writer, names []string, stats []core.QueueStats) error {
	t := newTable(w)
	fmt.Fprintln(t, "QUEUE\tQUEUED\tLOCKED\tBACKOFF\tDONE\tTOTAL\tDEAD\tOLDEST\tPAUSED")
	for i, s := range stats {
		fmt.Fprintf(t, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", clip(names[i], 0),
			s.Queued, s.Locked, s.Backoff, s.Done, s.Total, s.Dead, oldest(s), yesNo(s.Paused))
	}
	return t.Flush()
}

// oldest prints how long the longest-waiting queued message has waited:
// "-" when nothing is queued.
func oldest(s core.QueueStats) string {
	if s.Queued == 0 {
		return "-"
	}
	return duration(max(s.OldestReady, time.Nanosecond))
}

// queueStatsJSON is one queue's counts in -json output.
type queueStatsJSON struct {
	Queue   string `json:"queue"`
	Queued  int64  `json:"queued"`
	Locked  int64  `json:"locked"`
	Backoff int64  `json:"backoff"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	Dead    int64  `json:"dead"`
	// OldestReadyMS is how long the longest-waiting queued message has
	// waited (core.QueueStats.OldestReady).
	OldestReadyMS int64 `json:"oldest_ready_ms"`
	Paused        bool  `json:"paused"`
}

func statsJSON(names []string, stats []core.QueueStats) []queueStatsJSON {
	out := make([]queueStatsJSON, len(stats))
	for i, s := range stats {
		out[i] = queueStatsJSON{Queue: names[i], Queued: s.Queued, Locked: s.Locked,
			Backoff: s.Backoff, Done: s.Done, Total: s.Total, Dead: s.Dead, OldestReadyMS: s.OldestReady.Milliseconds(),
			Paused: s.Paused}
	}
	return out
}
