package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/redghost/redghost/core"
)

var clearCmd = &command{
	name:    "clear",
	args:    "[-yes] QUEUE...",
	pos:     "QUEUE...",
	summary: "delete every message and dead letter of queues",
	detail: `Deletes every trace of the named queues: waiting, locked and done messages,
pending requeues, dead letters and a pause. It shows what the queues hold and asks
first (-yes skips the question). Handlers that are running keep their
messages, but their acknowledgements find nothing to change.

A queue that holds no message and no dead letter does not exist (it is
not among 'redghost queues'; a mistyped name, or the wrong -prefix): it is
reported on stderr and the exit status is 3, after the queues that do
exist are cleared.`,
	flags: func(fs *flag.FlagSet) action {
		yes := fs.Bool("yes", false, "clear without asking")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usagef("clear: missing queue name")
			}
			queues, err := validQueues(args)
			if err != nil {
				return err
			}
			stats, err := a.stats(ctx, queues)
			if err != nil {
				return err
			}
			var msgs, dead int64
			var found, missing []string
			var foundStats []core.QueueStats
			for i, s := range stats {
				if s.Total+s.Dead == 0 && !s.Paused {
					missing = append(missing, queues[i])
					continue
				}
				found = append(found, queues[i])
				foundStats = append(foundStats, s)
				msgs += s.Total
				dead += s.Dead
			}
			if len(found) > 0 {
				what := fmt.Sprintf("delete %s and %s", plural(msgs, "message"), plural(dead, "dead letter"))
				var q string
				if len(found) == 1 {
					q = fmt.Sprintf("clear %q: %s?", found[0], what)
				} else {
					for i, s := range foundStats {
						fmt.Fprintf(a.stderr, "  %q: %s, %s\n", found[i], plural(s.Total, "message"), plural(s.Dead, "dead letter"))
					}
					q = fmt.Sprintf("clear these %d queues: %s?", len(found), what)
				}
				if err := a.confirm(ctx, *yes, q); err != nil {
					return err
				}
			}
			// The missing queues go too: a drained queue may keep a key or
			// two that no count shows.
			err = a.call(ctx, func(ctx context.Context) error { return a.b.ClearQueues(ctx, queues...) })
			if err != nil {
				return err
			}
			for i, s := range foundStats {
				fmt.Fprintf(a.stdout, "cleared %q (%s, %s)\n", found[i], plural(s.Total, "message"), plural(s.Dead, "dead letter"))
			}
			if len(missing) > 0 {
				return &notFoundError{queues: missing, prefix: a.g.prefix}
			}
			return nil
		}
	},
}

// notFoundError: queues named on the command line hold no message and no
// dead letter. Exit status 3.
type notFoundError struct {
	queues []string
	prefix string
}

func (e *notFoundError) Error() string {
	q := make([]string, len(e.queues))
	for i, n := range e.queues {
		q[i] = fmt.Sprintf("%q", n)
	}
	what := "no queue " + q[0]
	if len(q) > 1 {
		what = "no queues " + strings.Join(q, ", ")
	}
	return fmt.Sprintf("%s under prefix %q: nothing to clear ('redghost queues' lists the queues)", what, e.prefix)
}
