package redisqueue

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// libScript is a script of main preceded by the lib.lua definitions it
// uses, as the package's own scripts are built.
func libScript(t *testing.T, main string) *redis.Script {
	t.Helper()
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	return redis.NewScript(joinScript(splitDefs(string(lib)), main))
}

// The status rules are written twice: in lua/lib.lua (status, for the
// scripts) and in body.go (header.status, for listings decoded here). For
// every header state, the Lua copy packs the header, reads it back and
// derives a status; the Go copy parses the same bytes and derives its own.
// They must agree, so that neither copy can change alone.
func TestStatusRulesAgree(t *testing.T) {
	t.Parallel()
	_, c, _ := newEnv(t)
	script := libScript(t, `
local now = tonumber(ARGV[8])
local v = pack_hdr(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
local flags, _, _, lock_exp, bo_exp = unpack_hdr(v)
return {v, status(flags, lock_exp, bo_exp, now)}
`)
	const now = int64(1_700_000_000_000)
	times := []int64{0, now - 3_600_000, now - 1, now, now + 1, now + 3_600_000}
	seen := map[core.Status]int{}
	ctx := context.Background()
	n := 0
	// Every flag combination but the short form's byte (8): done, requeue,
	// grouped, cancelled.
	for _, flags := range []int{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23} {
		for _, att := range []int64{0, 3} {
			for _, tok := range []int64{0, 77} {
				for _, lockExp := range times {
					for _, boExp := range times {
						for _, lockMs := range []int64{0, 5000} {
							args := []any{flags, att, tok, lockExp, boExp, lockMs, now - 10, now}
							reply, err := script.Run(ctx, c, nil, args...).Slice()
							if err != nil {
								t.Fatal(err)
							}
							v := reply[0].(string)
							luaStatus := core.Status(reply[1].(int64))
							h, err := parseHeader(v)
							if err != nil {
								t.Fatalf("header %v packed by lib.lua: %v", args, err)
							}
							in := fmt.Sprint(args[:7])
							got := fmt.Sprint([]any{int(h.flags), int64(h.attempts), int64(h.token), h.lockExp, h.boExp, h.lockMs, h.first})
							if got != in {
								t.Fatalf("header %v packed by lib.lua parses as %v", in, got)
							}
							if goStatus := h.status(now); goStatus != luaStatus {
								t.Errorf("header %v at %d: lib.lua says %v, body.go says %v", in, now, luaStatus, goStatus)
							}
							seen[luaStatus]++
							n++
						}
					}
				}
			}
		}
	}
	for s := core.StatusQueued; s <= core.StatusDoneWithRequeue; s++ {
		if seen[s] == 0 {
			t.Errorf("no header state gave %v: the table no longer covers every status", s)
		}
	}
	t.Logf("%d header states, statuses %v", n, seen)
}
