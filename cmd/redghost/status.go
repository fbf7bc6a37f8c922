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
	detail: `Prints the status of message ID in QUEUE, by the Redis server's clock: none
(not in the queue, or collected), queued, queued-with-backoff, locked,
locked-with-requeue, done-awaiting-gc, done-with-backoff or
done-with-requeue. "none" is an answer, not an error (exit status 0).`,
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
			var st core.Status
			err := a.call(ctx, func(ctx context.Context) (err error) {
				st, err = a.b.MessageStatus(ctx, args[0], args[1])
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, st)
			return nil
		}
	},
}
