package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/redghost/redghost/core"
)

var pauseCmd = &command{
	name:    "pause",
	args:    "QUEUE...",
	pos:     "QUEUE...",
	summary: "stop workers taking messages from queues",
	detail: `Pauses the named queues: every worker, in every process, stops taking their
messages within one wait cycle (a second by default). Enqueues still
succeed, and messages already taken are handled and acknowledged. The pause
is stored in Redis and lasts until 'redghost resume' (or 'redghost clear');
'redghost queues' and 'stats' show it. Pausing a paused queue changes
nothing.`,
	flags: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, a *app, args []string) error {
			return a.setPaused(ctx, args, true)
		}
	},
}

var resumeCmd = &command{
	name:    "resume",
	args:    "QUEUE...",
	pos:     "QUEUE...",
	summary: "let workers take messages from paused queues again",
	detail: `Lifts the pause of the named queues: idle workers take their messages again
within one wait cycle. Resuming a queue that is not paused changes nothing.`,
	flags: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, a *app, args []string) error {
			return a.setPaused(ctx, args, false)
		}
	},
}

func (a *app) setPaused(ctx context.Context, args []string, paused bool) error {
	name, done, set := "resume", "resumed", a.b.ResumeQueue
	if paused {
		name, done, set = "pause", "paused", a.b.PauseQueue
	}
	if len(args) == 0 {
		return usagef("%s: missing queue name", name)
	}
	queues, err := validQueues(args)
	if err != nil {
		return err
	}
	for _, q := range queues {
		if err := a.call(ctx, func(ctx context.Context) error { return set(ctx, q) }); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "%s %q\n", done, q)
	}
	return nil
}

var cancelCmd = &command{
	name:    "cancel",
	args:    "[-json] QUEUE ID...",
	pos:     "QUEUE ID...",
	summary: "cancel messages",
	detail: `Cancels the named messages of QUEUE and prints, per id, the status it had and
what the cancel did. A queued or delayed message is removed. A locked one
is marked: the worker that holds it learns at its next heartbeat and
cancels the handler's context (cause core.ErrCanceled); a pending requeue
copy is dropped; the message is not retried, and is dead-lettered only if
the handler fails for a reason of its own. A done message with a pending
requeue copy loses the copy. Other done messages, and ids with status
none, are left as they are (an answer, not an error: exit status 0).`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context, a *app, args []string) error {
			switch len(args) {
			case 0:
				return usagef("cancel: missing queue name and message id")
			case 1:
				return usagef("cancel: missing message id")
			}
			if _, err := validQueues(args[:1]); err != nil {
				return err
			}
			ids, err := validIDs(args[1:])
			if err != nil {
				return err
			}
			queue := args[0]
			out := make([]cancelJSON, 0, len(ids))
			for _, id := range ids {
				var st core.Status
				err := a.call(ctx, func(ctx context.Context) (err error) {
					st, err = a.b.CancelMessage(ctx, queue, id)
					return err
				})
				if err != nil {
					return err
				}
				out = append(out, cancelJSON{ID: id, Status: st.String(), Result: cancelResult(st)})
			}
			if *asJSON {
				return writeJSON(a.stdout, out)
			}
			t := newTable(a.stdout)
			fmt.Fprintln(t, "ID\tSTATUS\tRESULT")
			for _, c := range out {
				fmt.Fprintf(t, "%s\t%s\t%s\n", cell(c.ID, 0), c.Status, c.Result)
			}
			return t.Flush()
		}
	},
}

type cancelJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"` // before the cancel
	Result string `json:"result"`
}

// cancelResult says what a cancel did to a message of status st.
func cancelResult(st core.Status) string {
	switch st {
	case core.StatusQueued, core.StatusQueuedWithBackoff:
		return "removed"
	case core.StatusLocked:
		return "handler told at its next heartbeat"
	case core.StatusLockedWithRequeue:
		return "handler told at its next heartbeat; requeue copy dropped"
	case core.StatusDoneWithRequeue:
		return "requeue copy dropped"
	case core.StatusNone:
		return "nothing to cancel"
	}
	return "already handled"
}

var workersCmd = &command{
	name:    "workers",
	args:    "[-json]",
	pos:     "",
	summary: "list the running workers",
	detail: `Lists the workers registered under the key prefix, by id: host, process id,
queues, concurrency, messages in flight at the last heartbeat, when the
worker started and when it last refreshed its registration (UTC).
A worker refreshes it at every heartbeat; one that stops (a crashed
process) drops out once its registration expires (its lock duration, or
three heartbeats if longer). The last refresh is by the Redis server's
clock, the start by the worker host's.`,
	flags: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usagef("workers: takes no arguments, got %q", args[0])
			}
			var ws []core.WorkerInfo
			err := a.call(ctx, func(ctx context.Context) (err error) {
				ws, err = a.b.Workers(ctx)
				return err
			})
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]workerJSON, len(ws))
				for i, w := range ws {
					out[i] = workerJSON{ID: w.ID, Host: w.Host, PID: w.PID, Queues: w.Queues, Concurrency: w.Concurrency,
						InFlight: w.InFlight, StartedAt: timestamp(w.StartedAt), LastSeen: timestamp(w.LastSeen),
						ExpiresAt: timestamp(w.ExpiresAt)}
					if out[i].Queues == nil {
						out[i].Queues = []string{}
					}
				}
				return writeJSON(a.stdout, out)
			}
			if len(ws) == 0 {
				fmt.Fprintf(a.stderr, "no workers under prefix %q\n", a.g.prefix)
				return nil
			}
			t := newTable(a.stdout)
			fmt.Fprintln(t, "ID\tHOST\tPID\tQUEUES\tCONCURRENCY\tIN-FLIGHT\tSTARTED\tLAST-SEEN")
			for _, w := range ws {
				qs := make([]string, len(w.Queues))
				for i, q := range w.Queues {
					qs[i] = clip(q, 0)
				}
				fmt.Fprintf(t, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", cell(w.ID, 0), cell(w.Host, 0), w.PID,
					cell(strings.Join(qs, ","), 0), w.Concurrency, w.InFlight, timestamp(w.StartedAt),
					timestamp(w.LastSeen))
			}
			return t.Flush()
		}
	},
}

type workerJSON struct {
	ID          string   `json:"id"`
	Host        string   `json:"host"`
	PID         int      `json:"pid"`
	Queues      []string `json:"queues"`
	Concurrency int      `json:"concurrency"`
	InFlight    int      `json:"in_flight"`
	StartedAt   string   `json:"started_at"`
	LastSeen    string   `json:"last_seen"`
	ExpiresAt   string   `json:"expires_at"`
}
