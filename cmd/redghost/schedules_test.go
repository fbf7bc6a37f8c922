package main

import (
	"context"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
	"github.com/redghost/redghost/schedule"
)

func TestSchedules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cli("", "schedules").want(t, 0, "", `no schedules under prefix "`+e.prefix+`"`+"\n")
	e.cli("", "schedules", "-json").want(t, 0, "[]\n", "")

	ctx := context.Background()
	next := time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC)
	infos := []core.ScheduleInfo{
		{Queue: "reports", Name: "nightly", Spec: "CRON_TZ=Europe/Paris 0 3 * * *", Next: next.Add(22 * time.Hour)},
		{Queue: "jobs", Name: "tick", Spec: "@every 1m", Next: next},
	}
	if err := e.b.RegisterSchedules(ctx, infos, time.Minute); err != nil {
		t.Fatal(err)
	}
	last := next.Add(-time.Minute)
	_, err := e.b.EnqueueSlot(ctx, core.SlotParams{Schedule: "tick", Slot: last,
		Request: core.EnqueueRequest{Queue: "jobs", ID: schedule.SlotID("tick", last), Payload: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}

	e.cli("", "schedules").want(t, 0, `QUEUE    NAME     SPEC                            NEXT                  LAST
jobs     tick     @every 1m                       2030-01-02T04:00:00Z  2030-01-02T03:59:00Z
reports  nightly  CRON_TZ=Europe/Paris 0 3 * * *  2030-01-03T02:00:00Z  -
`, "")
	e.cli("", "schedules", "-json").want(t, 0, `[
  {
    "queue": "jobs",
    "name": "tick",
    "spec": "@every 1m",
    "next": "2030-01-02T04:00:00Z",
    "last": "2030-01-02T03:59:00Z"
  },
  {
    "queue": "reports",
    "name": "nightly",
    "spec": "CRON_TZ=Europe/Paris 0 3 * * *",
    "next": "2030-01-03T02:00:00Z",
    "last": null
  }
]
`, "")
	e.cli("", "schedules", "extra").want(t, 2, "", `redghost: schedules: takes no arguments, got "extra"
usage: redghost schedules [-json]
run 'redghost help schedules' for details
`)
}
