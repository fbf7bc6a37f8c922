package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/redghost/redghost/core"
)

var statusCmd = &command{
	name:    "status",
	args:    "QUEUE ID",
	pos:     "QUEUE ID",
	summary: "one message's status",
	detail: `Prints the status of message ID in QUEUE, by the Redis server's clock: queued,
queued-with-backoff, locked, locked-with-requeue, done-awaiting-gc,
done-with-backoff, done-with-requeue, dead (in the dead-letter list) or
none (neither in the queue nor a dead letter, or collected). A dead letter
is followed by when it failed (UTC), the attempt and its error text,
escaped; so is a live message whose id is also a dead letter. The first
line is always the status alone. "none" is an answer, not an error (exit
status 0).`,
	flags: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, a *app, args []string) error {
			switch len(args) {
			case 0:
				return usagef("status: missing queue name and message id")
			case 1:
				return usagef("status: missing message id")
			case 2:
			default:
				return usagef("status: too many arguments (%d); want QUEUE ID", len(args))
			}
			if _, err := validQueues(args[:1]); err != nil {
				return err
			}
			if _, err := validIDs(args[1:]); err != nil {
				return err
			}
			queue, id := args[0], args[1]
			st, err := a.status(ctx, queue, id)
			if err != nil {
				return err
			}
			var dead []core.DeadLetter
			err = a.call(ctx, func(ctx context.Context) (err error) {
				dead, err = a.b.DeadLettersByID(ctx, queue, id)
				return err
			})
			if err != nil {
				return err
			}
			switch {
			case len(dead) == 0:
				fmt.Fprintln(a.stdout, st)
				return nil
			case st == core.StatusNone:
				fmt.Fprintln(a.stdout, "dead")
			default:
				fmt.Fprintf(a.stdout, "%s\nalso a dead letter:\n", st)
			}
			d := dead[0]
			fmt.Fprintf(a.stdout, "failed:  %s (attempt %d)\nerror:   %s\n", timestamp(d.FailedAt), d.Attempt, cell(d.Error, 0))
			return nil
		}
	},
}
