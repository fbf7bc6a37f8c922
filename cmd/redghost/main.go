package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// The client's own log lines (failed dials, retries) would come before
	// the one error line this program prints; that line carries the cause.
	redis.SetLogger(discardLogger{})
	// The first SIGINT or SIGTERM cancels the command's context (a pending
	// Redis call or confirmation returns); stop restores the default
	// handling so that a second one kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
