package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redghost/redghost/core"
)

var deadListCmd = &command{
	name:    "dead list",
	args:    "[-offset N] [-limit N] [-payload [-width N]] [-json] QUEUE",
	pos:     "QUEUE",
	summary: "a page of a queue's dead letters",
	detail: `Lists QUEUE's dead letters, newest first: id, the attempts made, when it
failed (UTC, by the Redis server's clock) and the error text; with -payload
also the payload. Error texts and payloads are escaped and cut to -width
characters. When the page is full, the offset of the next one is printed on
stderr ("next page: -offset N").`,
	flags: func(fs *flag.FlagSet) action {
		offset := fs.Int("offset", 0, "skip the `N` newest dead letters")
		limit := fs.Int("limit", 100, fmt.Sprintf("`N` dead letters per page, 1 to %d", maxPage))
		payload := fs.Bool("payload", false, "show the payloads")
		width := fs.Int("width", 60, "cut error texts and payloads to `N` characters (0: whole)")
		asJSON := fs.Bool("json", false, "print JSON (error texts in full; payloads in full with -payload)")
		return func(ctx context.Context, a *app, args []string) error {
			queue, err := oneQueue("dead list", args)
			if err != nil {
				return err
			}
			switch {
			case *offset < 0:
				return usagef("-offset %d: negative", *offset)
			case *limit < 1 || *limit > maxPage:
				return usagef("-limit %d: want 1 to %d", *limit, maxPage)
			case *width < 0:
				return usagef("-width %d: negative", *width)
			}
			var dead []core.DeadLetter
			err = a.call(ctx, func(ctx context.Context) (err error) {
				dead, err = a.b.DeadLetters(ctx, queue, *offset, *limit)
				return err
			})
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, deadJSON(queue, dead, *payload))
			}
			if len(dead) == 0 {
				if *offset == 0 {
					fmt.Fprintf(a.stderr, "no dead letters in %q\n", queue)
				} else {
					fmt.Fprintf(a.stderr, "no dead letters in %q past offset %d\n", queue, *offset)
				}
				return nil
			}
			if err := deadTable(a.stdout, dead, *payload, *width); err != nil {
				return err
			}
			if len(dead) == *limit {
				fmt.Fprintf(a.stderr, "next page: -offset %d\n", *offset+len(dead))
			}
			return nil
		}
	},
}

func deadTable(w io.Writer, dead []core.DeadLetter, payload bool, width int) error {
	t := newTable(w)
	fmt.Fprint(t, "ID\tATTEMPT\tFAILED\tERROR")
	if payload {
		fmt.Fprint(t, "\tPAYLOAD")
	}
	fmt.Fprintln(t)
	for _, d := range dead {
		fmt.Fprintf(t, "%s\t%d\t%s\t%s", clip(d.ID, 0), d.Attempt, timestamp(d.FailedAt), cell(d.Error, width))
		if payload {
			fmt.Fprintf(t, "\t%s", cell(string(d.Payload), width))
		}
		fmt.Fprintln(t)
	}
	return t.Flush()
}

type deadLetterJSON struct {
	ID       string            `json:"id"`
	Attempt  int               `json:"attempt"`
	FailedAt time.Time         `json:"failed_at"`
	Error    string            `json:"error"`
	Headers  map[string]string `json:"headers,omitempty"`
	jsonPayload
}

type deadPageJSON struct {
	Queue       string           `json:"queue"`
	DeadLetters []deadLetterJSON `json:"dead_letters"`
}

func deadJSON(queue string, dead []core.DeadLetter, payload bool) deadPageJSON {
	out := deadPageJSON{Queue: queue, DeadLetters: make([]deadLetterJSON, len(dead))}
	for i, d := range dead {
		out.DeadLetters[i] = deadLetterJSON{
			ID:          d.ID,
			Attempt:     d.Attempt,
			FailedAt:    d.FailedAt.UTC(),
			Error:       d.Error,
			Headers:     d.Headers,
			jsonPayload: newJSONPayload(d.Payload, payload),
		}
	}
	return out
}

var deadRequeueCmd = &command{
	name:    "dead requeue",
	args:    "[-yes] QUEUE [ID...]",
	pos:     "QUEUE [ID...]",
	summary: "enqueue dead letters again (all of them when no id is given)",
	detail: `Enqueues the named dead letters of QUEUE again, as fresh messages with
attempt 0 and their headers, and removes them from the dead-letter list.
Without ids it requeues all of them, after asking (-yes skips the
question). A dead letter whose id is live in the queue stays in the list;
so does an id that is not in it. It prints how many were requeued and,
on stderr, each named id that stayed and why.`,
	flags: func(fs *flag.FlagSet) action {
		yes := fs.Bool("yes", false, "requeue all without asking")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usagef("dead requeue: missing queue name")
			}
			if _, err := validQueues(args[:1]); err != nil {
				return err
			}
			queue := args[0]
			ids, err := validIDs(args[1:])
			if err != nil {
				return err
			}
			asked := int64(len(ids))
			if len(ids) == 0 {
				st, err := a.stats(ctx, []string{queue})
				if err != nil {
					return err
				}
				if asked = st[0].Dead; asked == 0 {
					fmt.Fprintf(a.stdout, "no dead letters in %q\n", queue)
					return nil
				}
				if err := a.confirm(ctx, *yes, fmt.Sprintf("requeue all %s of %q?", plural(asked, "dead letter"), queue)); err != nil {
					return err
				}
			}
			// Which of the named ids are dead letters, to tell afterwards
			// why one stayed.
			wasDead, err := a.deadIDs(ctx, queue, ids)
			if err != nil {
				return err
			}
			var n int
			err = a.call(ctx, func(ctx context.Context) (err error) {
				n, err = a.b.RequeueDeadLetters(ctx, queue, ids...)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "requeued %s of %q\n", plural(int64(n), "dead letter"), queue)
			if len(ids) == 0 {
				if left := asked - int64(n); left > 0 {
					fmt.Fprintf(a.stderr, "%s stayed: live in the queue under the same id, or gone meanwhile\n", plural(left, "dead letter"))
				}
				return nil
			}
			if n == len(ids) {
				return nil
			}
			return a.explainStayed(ctx, queue, ids, wasDead)
		}
	},
}

// deadIDs answers which of ids are dead letters of queue.
func (a *app) deadIDs(ctx context.Context, queue string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var dead []core.DeadLetter
	err := a.call(ctx, func(ctx context.Context) (err error) {
		dead, err = a.b.DeadLettersByID(ctx, queue, ids...)
		return err
	})
	for _, d := range dead {
		out[d.ID] = true
	}
	return out, err
}

// explainStayed names, on stderr, each of the ids that a requeue left
// where it was, and why: it was no dead letter, or its id is live in the
// queue (the enqueue refuses an id it holds).
func (a *app) explainStayed(ctx context.Context, queue string, ids []string, wasDead map[string]bool) error {
	stillDead, err := a.deadIDs(ctx, queue, ids)
	if err != nil {
		return err
	}
	var lines []string
	for _, id := range ids {
		if wasDead[id] && !stillDead[id] {
			continue // requeued
		}
		st, err := a.status(ctx, queue, id)
		if err != nil {
			return err
		}
		var why string
		switch {
		case !wasDead[id] && st == core.StatusNone:
			why = "not a dead letter, nor in the queue"
		case !wasDead[id]:
			why = fmt.Sprintf("not a dead letter (live in the queue: %s)", st)
		case st != core.StatusNone:
			why = fmt.Sprintf("live in the queue (%s), so its dead letter stays", st)
		default:
			why = "still a dead letter: its id was live in the queue at the requeue and is gone now; try again"
		}
		lines = append(lines, fmt.Sprintf("  %q: %s\n", id, why))
	}
	if len(lines) == 0 {
		return nil
	}
	fmt.Fprintf(a.stderr, "%d of the %d ids stayed:\n", len(lines), len(ids))
	for _, l := range lines {
		fmt.Fprint(a.stderr, l)
	}
	return nil
}

var deadPurgeCmd = &command{
	name:    "dead purge",
	args:    "[-yes] QUEUE",
	pos:     "QUEUE",
	summary: "delete a queue's dead letters",
	detail: `Deletes every dead letter of QUEUE, after asking (-yes skips the question).
The queue's messages are not touched. It prints how many were deleted.`,
	flags: func(fs *flag.FlagSet) action {
		yes := fs.Bool("yes", false, "purge without asking")
		return func(ctx context.Context, a *app, args []string) error {
			queue, err := oneQueue("dead purge", args)
			if err != nil {
				return err
			}
			st, err := a.stats(ctx, []string{queue})
			if err != nil {
				return err
			}
			if st[0].Dead == 0 {
				fmt.Fprintf(a.stdout, "no dead letters in %q\n", queue)
				return nil
			}
			if err := a.confirm(ctx, *yes, fmt.Sprintf("delete %s of %q for good?", plural(st[0].Dead, "dead letter"), queue)); err != nil {
				return err
			}
			var n int
			err = a.call(ctx, func(ctx context.Context) (err error) {
				n, err = a.b.PurgeDeadLetters(ctx, queue)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "purged %s of %q\n", plural(int64(n), "dead letter"), queue)
			return nil
		}
	},
}
