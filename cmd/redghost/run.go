package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/redghost/redghost/core"
)

// Exit codes.
const (
	exitOK      = 0
	exitFail    = 1 // a Redis error, or the operator did not confirm
	exitUsage   = 2 // bad input: unknown command, missing or invalid argument or flag
	exitNoQueue = 3 // clear: a named queue holds nothing (does not exist)
)

// command is one subcommand. flags defines the command's own flags on fs
// and answers the action that runs once they are parsed; the action gets
// the positional arguments.
type command struct {
	name    string // as typed: "stats", "dead list"
	args    string // the synopsis after the name
	pos     string // the positional arguments alone, for the command list
	summary string // one line, for the command list
	detail  string // a paragraph, for the command's help
	flags   func(fs *flag.FlagSet) action
}

type action func(ctx context.Context, a *app, args []string) error

// commands in the order the usage lists them.
var commands = []*command{queuesCmd, statsCmd, statusCmd, whyCmd, contentCmd,
	deadListCmd, deadRequeueCmd, deadPurgeCmd, clearCmd, pauseCmd, resumeCmd, cancelCmd,
	workersCmd, schedulesCmd, serveCmd}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// usageError is bad input: it is reported with the command's synopsis and
// exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp: help was asked for and printed.
var errHelp = errors.New("help")

// errDeclined: the operator did not confirm; nothing changed.
var errDeclined = errors.New("not confirmed; nothing changed")

// run is the whole program: it parses args (without the program name),
// runs one command and answers the exit code. The confirmation questions
// read stdin.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{g: defaultGlobals(), stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	err := a.run(ctx, args)
	a.close()
	return a.exit(err)
}

func (a *app) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("redghost", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(a.stdout)
			return errHelp
		}
		return usagef("%v", err)
	}
	args = fs.Args()
	if len(args) == 0 {
		return usagef("missing command")
	}
	name, args := args[0], args[1:]
	switch name {
	case "help":
		return a.help(args)
	case "dead":
		if len(args) == 0 {
			a.group = true
			return usagef("dead: missing subcommand (list, requeue or purge)")
		}
		c := lookup("dead " + args[0])
		if c == nil {
			a.group = true
			return usagef("dead: unknown subcommand %q (want list, requeue or purge)", args[0])
		}
		return a.runCommand(ctx, c, args[1:])
	}
	c := lookup(name)
	if c == nil {
		return usagef("unknown command %q", name)
	}
	return a.runCommand(ctx, c, args)
}

// runCommand parses the command's flags (its own and the global ones,
// anywhere among its arguments), opens the backend and runs the action.
func (a *app) runCommand(ctx context.Context, c *command, args []string) error {
	a.cmd = c
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	act := c.flags(fs)
	a.g.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandHelp(a.stdout, c)
			return errHelp
		}
		return usagef("%v", err)
	}
	if err := a.open(); err != nil {
		return err
	}
	return act(ctx, a, pos)
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments, which it answers in order. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// exit reports err on stderr and answers the exit code.
func (a *app) exit(err error) int {
	var usage *usageError
	var invalid *core.InvalidError
	var nf *notFoundError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintf(a.stderr, "redghost: %s\n", usage.msg)
		a.shortUsage()
		return exitUsage
	case errors.As(err, &invalid):
		fmt.Fprintf(a.stderr, "redghost: invalid %s: %s\n", invalid.Field, invalid.Reason)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "redghost: %v\n", err)
	if errors.As(err, &nf) {
		return exitNoQueue
	}
	return exitFail
}

// shortUsage follows a usage error: the synopsis of the command at hand and
// where to read more.
func (a *app) shortUsage() {
	switch {
	case a.cmd != nil:
		fmt.Fprintf(a.stderr, "usage: redghost %s %s\nrun 'redghost help %s' for details\n", a.cmd.name, a.cmd.args, a.cmd.name)
	case a.group:
		for _, c := range commands {
			if strings.HasPrefix(c.name, "dead ") {
				fmt.Fprintf(a.stderr, "usage: redghost %s %s\n", c.name, c.args)
			}
		}
		fmt.Fprintln(a.stderr, "run 'redghost help dead' for details")
	default:
		fmt.Fprintln(a.stderr, "usage: redghost [global flags] COMMAND [flags] [arguments]")
		fmt.Fprintln(a.stderr, "run 'redghost help' for the commands")
	}
}

// help answers "redghost help [COMMAND]" on stdout.
func (a *app) help(args []string) error {
	name := strings.Join(args, " ")
	if name == "" {
		a.usage(a.stdout)
		return errHelp
	}
	if c := lookup(name); c != nil {
		a.commandHelp(a.stdout, c)
		return errHelp
	}
	if name == "dead" {
		for _, c := range commands {
			if strings.HasPrefix(c.name, "dead ") {
				a.commandHelp(a.stdout, c)
				fmt.Fprintln(a.stdout)
			}
		}
		return errHelp
	}
	return usagef("help: unknown command %q", name)
}

// usage is the program's help.
func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, `redghost inspects and repairs Red Ghost queues on Redis.

usage: redghost [global flags] COMMAND [flags] [arguments]

commands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.pos), c.summary)
	}
	fmt.Fprintf(tw, "  help [COMMAND]\tthis text, or a command's\n")
	_ = tw.Flush()
	fmt.Fprint(w, "\nglobal flags (before or after the command):\n")
	fs := flag.NewFlagSet("redghost", flag.ContinueOnError)
	g := defaultGlobals()
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Commands that delete or move many messages (clear, dead purge, dead
requeue without ids) ask on stderr and read the answer from stdin; -yes
skips the question.

exit status: 0 done, 1 Redis error or not confirmed, 2 bad input, 3 clear
of a queue that does not exist.
`)
}

// commandHelp is one command's help: synopsis, description and flags.
func (a *app) commandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: redghost %s %s\n\n%s\n", c.name, c.args, c.detail)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	fs.SetOutput(w)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		fs.PrintDefaults()
	}
	fmt.Fprint(w, "\nglobal flags: -redis URL, -cluster ADDRS, -prefix PREFIX, -timeout D (see 'redghost help')\n")
}
