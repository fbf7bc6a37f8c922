// Package bench holds Red Ghost's own benchmarks against a private
// redis-server that each benchmark starts on a free loopback port:
//
//	go test ./bench -run '^$' -bench . -benchtime 100000x
//
// Every benchmark counts b.N in messages and reports msgs/s. The
// comparison with peer libraries (asynq) lives in the separate module
// bench/peers, so that peers never enter the library's dependencies; see
// bench/README.md.
package bench
