// Command redghost inspects and repairs Red Ghost queues on Redis: the
// admin calls of core.Queue and the redisqueue backend, for an operator at a
// shell.
//
// # Install
//
//	go install github.com/redghost/redghost/cmd/redghost@latest
//
// # Usage
//
//	redghost [global flags] COMMAND [flags] [arguments]
//
//	redghost queues [-json]                       every queue with its counts
//	redghost stats [-json] QUEUE...               the counts of the named queues
//	redghost status QUEUE ID                      one message's status (a dead letter's
//	                                              failure time and error too)
//	redghost why QUEUE ID                         where a message stands and what happens
//	                                              to it next, in plain words
//	redghost content [-limit N] [-cursor C] [-payload [-width N]] [-json] QUEUE
//	                                              a page of a queue's messages
//	redghost dead list [-offset N] [-limit N] [-payload [-width N]] [-json] QUEUE
//	                                              a page of a queue's dead letters, newest first
//	redghost dead requeue [-yes] QUEUE [ID...]    enqueue dead letters again (all without ids)
//	redghost dead purge [-yes] QUEUE              delete a queue's dead letters
//	redghost clear [-yes] QUEUE...                delete every message and dead letter of queues
//	redghost pause QUEUE...                       stop workers taking messages from queues
//	redghost resume QUEUE...                      let workers take messages from paused queues again
//	redghost cancel [-json] QUEUE ID...           cancel messages (a running handler is told at
//	                                              its worker's next heartbeat)
//	redghost workers [-json]                      the running workers
//	redghost schedules [-json]                    the schedules that schedulers run, next and last slots
//	redghost serve [-addr HOST:PORT] [-basic-auth USER:PASS] [-actions] [-payloads] [-jaeger URL] [-refresh D]
//	                                              the web UI (package web) on 127.0.0.1:8080
//	redghost help [COMMAND]                       the usage, or a command's
//
// Flags may come before, between or after the arguments; "--" ends them
// (for a queue whose name starts with "-").
//
// # Global flags
//
//	-redis URL       the server, as redis.ParseURL reads it
//	                 (default $REDIS_URL, else redis://127.0.0.1:6379/0)
//	-cluster ADDRS   Redis Cluster nodes, host:port,host:port; the user,
//	                 password and TLS settings of -redis (or $REDIS_URL)
//	                 apply, not its address (with rediss://, its host is
//	                 the name the servers' certificates must show)
//	-prefix PREFIX   the key prefix the queues were made with (default "rg",
//	                 as redisqueue's)
//	-timeout D       the time limit of each Redis call (default 10s; 0: none)
//
// # Examples
//
//	$ redghost queues
//	QUEUE   QUEUED  LOCKED  BACKOFF  DONE  TOTAL  DEAD  OLDEST  PAUSED
//	emails  2       0       1        0     3      0     4.2s    -
//	orders  0       1       0        1     2      1     -       yes
//
//	$ redghost -prefix myapp stats -json orders
//	$ redghost content -limit 20 -payload orders
//	$ redghost dead list orders
//	$ redghost dead requeue orders o2           # one dead letter, no question
//	$ redghost dead requeue orders              # all of them, after asking
//	requeue all 3 dead letters of "orders"? [y/N]
//	$ redghost clear -yes scratch
//	$ redghost pause orders                     # workers stop within a wait cycle
//	$ redghost cancel orders o7
//	ID  STATUS  RESULT
//	o7  locked  handler told at its next heartbeat
//	$ redghost resume orders
//
// # Web UI
//
// serve runs the UI of package web until interrupted: the queues with
// their counts, refreshed live; a queue's messages; a message's state in
// the words of 'redghost why'; dead letters. It only reads unless
// -actions allows requeue, purge and clear; payloads show with -payloads;
// -jaeger links each message's trace. It listens on the loopback address
// by default; on any other, give -basic-auth USER:PASS (or set
// $REDGHOST_BASIC_AUTH, which stays out of the process list).
//
//	$ redghost serve -actions -jaeger http://localhost:16686
//	redghost: serving the web UI on http://127.0.0.1:8080/ (actions on)
//
// # Output
//
// Tables go to stdout, aligned, one row per queue, message or dead letter;
// -json prints the same as JSON (durations in ms). Notes for a person (an
// empty listing, the cursor or offset of the next page, questions) go to
// stderr, so stdout can be piped. Ids, payloads and error texts are
// escaped (non-printable bytes as \xXX, \n, \uXXXX) so that nothing in a
// message can move the cursor or fake a row; payloads and error texts are
// cut to -width characters ("…" marks the cut). Times are the Redis
// server's: ages and remaining backoff and lock, and when a dead letter
// failed (UTC).
//
// # Confirmation
//
// clear, dead purge and dead requeue without ids change many messages at
// once: they say what they are about to do on stderr and read the answer
// from stdin ("y" or "yes" goes on; anything else, or end of input, changes
// nothing). -yes skips the question, for scripts.
//
// # Exit status
//
// 0 when the command did what it says (an empty listing or a status of
// "none" are answers, not errors); 1 on a Redis error, a timeout, or a
// question not answered yes; 2 on bad input (an unknown command or flag, a
// missing argument, an invalid queue name, id, cursor or URL), reported
// with the command's synopsis before anything is read or written; 3 when
// clear names a queue that does not exist (no message and no dead letter
// under the prefix: a mistyped name or the wrong -prefix), after the ones
// that exist are cleared.
package main
