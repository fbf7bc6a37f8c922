// Command rgbench benchmarks Red Ghost against asynq on a private
// redis-server that it starts on a free loopback port, and prints one
// table of medians with ours/asynq ratios. Progress goes to stderr, the
// table to stdout.
//
//	go run ./cmd/rgbench                 # the full table (about 6 minutes)
//	go run ./cmd/rgbench -quick          # CI-sized numbers, one run
//	go run ./cmd/rgbench -rows e2e-10,e2e-100 -runs 5
//	go run ./cmd/rgbench -chain          # what each middleware costs (ours only)
//	go run ./cmd/rgbench -svg ../../docs/img/bench.svg   # the chart in the README too
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/redghost/redghost/bench/peers"
)

func main() {
	def := peers.Config{}.WithDefaults()
	quick := flag.Bool("quick", false, "CI-sized numbers: 5,000 messages, 1 run, short latency and idle rows (flags given explicitly still apply)")
	n := flag.Int("n", def.Messages, "messages per run for the 50-goroutine, batch, end-to-end and memory rows")
	n1 := flag.Int("n1", 0, "messages per run for the 1-goroutine enqueue row (default n/5)")
	runs := flag.Int("runs", def.Runs, "interleaved runs per row (ours, asynq, ours, asynq, ...); the table shows medians")
	rows := flag.String("rows", "", "comma-separated rows to run (default: the default table's, or with -chain the chain table's): "+strings.Join(peers.Workloads(), ","))
	chain := flag.Bool("chain", false, "run the middleware table instead of the default one: the bare worker, the README's whole chain and each middleware alone, with client CPU per message (ours only)")
	systems := flag.String("systems", "ours,asynq", "comma-separated systems to run")
	rate := flag.Int("rate", def.Rate, "messages per second of the latency row")
	latFor := flag.Duration("latency-for", def.LatencyFor, "how long the latency row sends")
	idleFor := flag.Duration("idle-for", def.IdleFor, "how long the idle row measures")
	timeout := flag.Duration("run-timeout", def.RunTimeout, "bound on the handling of one run")
	detail := flag.Bool("detail", false, "add round trips, Redis command calls and Redis CPU per message under each row")
	server := flag.String("redis-server", "redis-server", "redis-server binary")
	profDir := flag.String("profile-dir", "", "write a CPU profile of the measured part of every run to DIR/<row>-<system>-<run>.pprof")
	slowlog := flag.Duration("slowlog", 0, "set Redis's slowlog-log-slower-than to this and print each run's slowest commands on stderr")
	svgOut := flag.String("svg", "", "also write the table as an SVG bar chart to FILE (ours next to asynq per row, with the ratio)")
	flag.Parse()

	cfg := peers.Config{}
	if *quick {
		cfg = peers.Quick()
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !*quick || set["n"] {
		cfg.Messages = *n
	}
	if !*quick || set["n1"] {
		cfg.Single = *n1
	}
	if !*quick || set["runs"] {
		cfg.Runs = *runs
	}
	if !*quick || set["latency-for"] {
		cfg.LatencyFor = *latFor
	}
	if !*quick || set["idle-for"] {
		cfg.IdleFor = *idleFor
	}
	if !*quick || set["run-timeout"] {
		cfg.RunTimeout = *timeout
	}
	cfg.Rate = *rate
	cfg.Detail = *detail
	cfg.Chain = *chain
	cfg.RedisServer = *server
	cfg.ProfileDir = *profDir
	cfg.Slowlog = *slowlog
	if *rows != "" {
		cfg.Rows = strings.Split(*rows, ",")
	}
	cfg.Systems = strings.Split(*systems, ",")
	if *svgOut != "" {
		// Refuse a path the chart cannot be written to before the run, not
		// after it.
		if fi, err := os.Stat(filepath.Dir(*svgOut)); err != nil || !fi.IsDir() {
			fmt.Fprintf(os.Stderr, "rgbench: -svg %s: the directory %s does not exist\n", *svgOut, filepath.Dir(*svgOut))
			os.Exit(2)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep, err := peers.Run(ctx, cfg)
	if rep != nil {
		rep.WriteTable(os.Stdout)
		if *svgOut != "" {
			if err := writeSVG(rep, *svgOut); err != nil {
				fmt.Fprintln(os.Stderr, "rgbench:", err)
				os.Exit(1)
			}
		}
		fmt.Fprintf(os.Stderr, "rgbench: done in %s\n", time.Since(start).Round(time.Second))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rgbench:", err)
		os.Exit(1)
	}
}

// writeSVG writes the report's chart to path, replacing the file only
// once the chart is complete.
func writeSVG(rep *peers.Report, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rgbench-*.svg")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := rep.WriteSVG(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
