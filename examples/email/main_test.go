package main

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// The story is the same on every run: the test runs main's logic and
// checks what it prints.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, slog.New(slog.DiscardHandler)); err != nil {
		panic(err)
	}
	// Output:
	// 1. welcome emails
	//   sent to ann@example.com: "Welcome, Ann!" (attempt 1)
	//   sent to bob@example.com: "Welcome, Bob!" (attempt 1)
	// 2. messages that can never succeed
	//   dead letter welcome-zed (attempt 1, tenant acme): user "zed": no such user
	//   dead letter welcome-eve (attempt 1, tenant acme): redghost: handler panicked: runtime error: invalid memory address or nil pointer dereference
	//   dead letter garbage (attempt 1, tenant acme): redghost: queue "users.email" message "garbage": payload does not decode into main.Email: invalid character 'o' in literal null (expecting 'u')
	// 3. the SMTP server goes down for three sends
	//   breaker smtp: closed -> open
	//   breaker smtp: open -> half-open
	//   breaker smtp: half-open -> closed
	//   sent to ann@example.com: "News #0" (attempt 2)
	//   sent to ann@example.com: "News #3" (attempt 1)
	//   sent to bob@example.com: "News #1" (attempt 2)
	//   sent to bob@example.com: "News #4" (attempt 1)
	//   sent to carl@example.com: "News #2" (attempt 2)
	//   (the handlings the open breaker turned away did not count as attempts)
	// 4. a send that hangs
	//   sent to carl@example.com: "Don't forget!" (attempt 2)
	//   the hung send returned late (retry: send to carl@example.com: smtp: connection reset), ignored
	// published 11: 8 sent, 3 dead letters, 0 waiting
}
