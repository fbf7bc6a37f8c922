package peers

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/internal/redistest"
)

// Server is a private redis-server on a free loopback port (never 6379),
// with no persistence, started by the benchmark and stopped when it ends.
type Server struct {
	*redistest.Server
	dir string
}

// StartServer starts bin (redis-server on PATH when empty) and waits until
// it answers PING.
func StartServer(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "rgbench-redis-")
	if err != nil {
		return nil, err
	}
	var opts []redistest.Option
	if bin != "" {
		opts = append(opts, redistest.WithBinary(bin))
	}
	s, err := redistest.Launch(dir, opts...)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%w (install redis-server, e.g. apt-get install redis-server)", err)
	}
	return &Server{Server: s, dir: dir}, nil
}

// Stop terminates the server and removes its directory.
func (s *Server) Stop() {
	s.Server.Stop()
	_ = os.RemoveAll(s.dir)
}

// info reads the fields of one INFO section as strings.
func info(ctx context.Context, c redis.UniversalClient, section string) (map[string]string, error) {
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m, nil
}

// redisSnapshot is what the benchmark reads from Redis around a run.
type redisSnapshot struct {
	cpu   float64 // used_cpu_user + used_cpu_sys, seconds
	calls map[string]int64
	usec  map[string]int64
}

func snapshot(ctx context.Context, c redis.UniversalClient) (redisSnapshot, error) {
	var s redisSnapshot
	cpu, err := info(ctx, c, "cpu")
	if err != nil {
		return s, err
	}
	u, _ := strconv.ParseFloat(cpu["used_cpu_user"], 64)
	y, _ := strconv.ParseFloat(cpu["used_cpu_sys"], 64)
	s.cpu = u + y
	cs, err := info(ctx, c, "commandstats")
	if err != nil {
		return s, err
	}
	s.calls, s.usec = map[string]int64{}, map[string]int64{}
	for k, v := range cs {
		name := strings.TrimPrefix(k, "cmdstat_")
		for _, f := range strings.Split(v, ",") {
			fk, fv, _ := strings.Cut(f, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				s.calls[name] = n
			case "usec":
				s.usec[name] = n
			}
		}
	}
	return s, nil
}

func usedMemory(ctx context.Context, c redis.UniversalClient) (int64, error) {
	m, err := info(ctx, c, "memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m["used_memory"], 10, 64)
}
