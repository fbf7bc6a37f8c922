package main

import (
	"context"
	"flag"
	"fmt"
)

var clearCmd = &command{
	name:    "clear",
	args:    "[-yes] QUEUE...",
	pos:     "QUEUE...",
	summary: "delete every message and dead letter of queues",
	detail: `Deletes every trace of the named queues: waiting, locked and done messages,
pending requeues and dead letters. It shows what the queues hold and asks
first (-yes skips the question; queues that hold nothing are cleared
without asking). Handlers that are running keep their messages, but their
acknowledgements find nothing to change.`,
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
			for _, s := range stats {
				msgs += s.Total
				dead += s.Dead
			}
			if msgs+dead > 0 {
				what := fmt.Sprintf("delete %s and %s", plural(msgs, "message"), plural(dead, "dead letter"))
				var q string
				if len(queues) == 1 {
					q = fmt.Sprintf("clear %q: %s?", queues[0], what)
				} else {
					for i, s := range stats {
						fmt.Fprintf(a.stderr, "  %q: %s, %s\n", queues[i], plural(s.Total, "message"), plural(s.Dead, "dead letter"))
					}
					q = fmt.Sprintf("clear these %d queues: %s?", len(queues), what)
				}
				if err := a.confirm(ctx, *yes, q); err != nil {
					return err
				}
			}
			err = a.call(ctx, func(ctx context.Context) error { return a.b.ClearQueues(ctx, queues...) })
			if err != nil {
				return err
			}
			for i, s := range stats {
				fmt.Fprintf(a.stdout, "cleared %q (%s, %s)\n", queues[i], plural(s.Total, "message"), plural(s.Dead, "dead letter"))
			}
			return nil
		}
	},
}
