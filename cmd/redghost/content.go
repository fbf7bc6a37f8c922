package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/redghost/redghost/core"
)

// maxPage is the largest page the Redis backend lists in one call.
const maxPage = 1000

var contentCmd = &command{
	name:    "content",
	args:    "[-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE",
	pos:     "QUEUE",
	summary: "a page of a queue's messages",
	detail: `Lists a page of QUEUE's messages: id, status, attempt, age (since first
enqueued), remaining backoff, remaining lock, and whether a requeue copy is
pending; with -payload also the payload, non-printable bytes escaped and
cut to -width characters. Times are by the Redis server's clock.

The order is Redis's HSCAN order, not the order of handling. When more
messages follow, the cursor of the next page is printed on stderr
("next page: -cursor C"). Listing is O(n) over the queue: for debugging,
not for monitoring (use stats).`,
	flags: func(fs *flag.FlagSet) action {
		limit := fs.Int("limit", 100, fmt.Sprintf("`N` messages per page, 1 to %d", maxPage))
		cursor := fs.String("cursor", "", "start the page at cursor `C`, as printed after the previous page")
		payload := fs.Bool("payload", false, "show the payloads")
		width := fs.Int("width", 60, "cut payloads to `N` characters (0: whole)")
		asJSON := fs.Bool("json", false, "print JSON (durations in ms; payloads in full with -payload)")
		return func(ctx context.Context, a *app, args []string) error {
			queue, err := oneQueue("content", args)
			if err != nil {
				return err
			}
			if *limit < 1 || *limit > maxPage {
				return usagef("-limit %d: want 1 to %d", *limit, maxPage)
			}
			if *width < 0 {
				return usagef("-width %d: negative", *width)
			}
			var msgs []core.MessageInfo
			var next string
			err = a.call(ctx, func(ctx context.Context) (err error) {
				msgs, next, err = a.b.QueueContent(ctx, queue, *cursor, *limit)
				return err
			})
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, contentJSON(queue, msgs, next, *payload))
			}
			if len(msgs) == 0 && next == "" {
				if *cursor == "" {
					fmt.Fprintf(a.stderr, "no messages in %q\n", queue)
				} else {
					fmt.Fprintf(a.stderr, "no more messages in %q\n", queue)
				}
				return nil
			}
			if len(msgs) > 0 {
				if err := contentTable(a.stdout, msgs, *payload, *width); err != nil {
					return err
				}
			}
			if next != "" {
				fmt.Fprintf(a.stderr, "next page: -cursor %s\n", next)
			}
			return nil
		}
	},
}

// oneQueue checks that args is one valid queue name.
func oneQueue(cmd string, args []string) (string, error) {
	switch {
	case len(args) == 0:
		return "", usagef("%s: missing queue name", cmd)
	case len(args) > 1:
		return "", usagef("%s: one queue at a time, got %d arguments", cmd, len(args))
	}
	if _, err := validQueues(args); err != nil {
		return "", err
	}
	return args[0], nil
}

func contentTable(w io.Writer, msgs []core.MessageInfo, payload bool, width int) error {
	t := newTable(w)
	fmt.Fprint(t, "ID\tSTATUS\tATTEMPT\tAGE\tBACKOFF\tLOCK-LEFT\tREQUEUE")
	if payload {
		fmt.Fprint(t, "\tPAYLOAD")
	}
	fmt.Fprintln(t)
	for _, m := range msgs {
		fmt.Fprintf(t, "%s\t%s\t%d\t%s\t%s\t%s\t%s", clip(m.ID, 0), m.Status, m.Attempt,
			duration(m.Age), duration(m.Backoff), duration(m.LockLeft), yesNo(m.Requeue))
		if payload {
			fmt.Fprintf(t, "\t%s", cell(string(m.Payload), width))
		}
		fmt.Fprintln(t)
	}
	return t.Flush()
}

type messageJSON struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Attempt    int    `json:"attempt"`
	AgeMS      int64  `json:"age_ms"`
	BackoffMS  int64  `json:"backoff_ms"`
	LockLeftMS int64  `json:"lock_left_ms"`
	Requeue    bool   `json:"requeue"`
	// A message cancelled while locked, and a message's own limits, are
	// shown only when present.
	Canceled    bool              `json:"canceled,omitempty"`
	MaxAttempts int               `json:"max_attempts,omitempty"`
	TimeoutMS   int64             `json:"timeout_ms,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	jsonPayload
}

type contentPageJSON struct {
	Queue      string        `json:"queue"`
	Messages   []messageJSON `json:"messages"`
	NextCursor string        `json:"next_cursor"`
}

func contentJSON(queue string, msgs []core.MessageInfo, next string, payload bool) contentPageJSON {
	out := contentPageJSON{Queue: queue, Messages: make([]messageJSON, len(msgs)), NextCursor: next}
	for i, m := range msgs {
		out.Messages[i] = messageJSON{
			ID:          m.ID,
			Status:      m.Status.String(),
			Attempt:     m.Attempt,
			AgeMS:       m.Age.Milliseconds(),
			BackoffMS:   m.Backoff.Milliseconds(),
			LockLeftMS:  m.LockLeft.Milliseconds(),
			Requeue:     m.Requeue,
			Canceled:    m.Canceled,
			MaxAttempts: m.MaxAttempts,
			TimeoutMS:   m.Timeout.Milliseconds(),
			Headers:     m.Headers,
			jsonPayload: newJSONPayload(m.Payload, payload),
		}
	}
	return out
}
