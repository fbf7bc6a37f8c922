package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/redghost/redghost/core"
)

var whyCmd = &command{
	name:    "why",
	args:    "QUEUE ID",
	pos:     "QUEUE ID",
	summary: "where a message stands and what happens to it next",
	detail: `Explains message ID of QUEUE in plain words, by the Redis server's clock: the
first line is its state (a status as 'redghost status' prints it, or
"dead"), then one sentence a line: what the state means and what happens
next, with the time left (the lock, the backoff, the hold of a done
message), and a dead letter's failure time, attempts and error text,
escaped. The web UI ('redghost serve') shows the same text on a message's
page.`,
	flags: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, a *app, args []string) error {
			switch len(args) {
			case 0:
				return usagef("why: missing queue name and message id")
			case 1:
				return usagef("why: missing message id")
			case 2:
			default:
				return usagef("why: too many arguments (%d); want QUEUE ID", len(args))
			}
			if _, err := validQueues(args[:1]); err != nil {
				return err
			}
			if _, err := validIDs(args[1:]); err != nil {
				return err
			}
			var e core.Explanation
			err := a.call(ctx, func(ctx context.Context) (err error) {
				e, err = core.Explain(ctx, a.b, args[0], args[1])
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, e.State())
			for _, s := range e.Why {
				fmt.Fprintln(a.stdout, cell(s, 0))
			}
			return nil
		}
	},
}
