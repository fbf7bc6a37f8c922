// Package schedule enqueues messages on a schedule: periodic jobs with no
// leader.
//
// A [Scheduler] holds schedules, each a name, a spec, a queue and a
// payload; [Scheduler.Run] enqueues the payload to the queue at each slot
// of the spec. Specs are cron expressions (5 fields, or 6 with seconds
// first), descriptors (@hourly, @daily...), either read in UTC unless
// [WithTimeZone] or a "CRON_TZ=<zone> " prefix says otherwise, and fixed
// intervals ("@every 30s"), whose slots are the interval's multiples since
// the Unix epoch. Cron specs are parsed by github.com/robfig/cron/v3.
//
// # No leader
//
// Run a scheduler in every process of a service, with the same schedules:
// each slot is enqueued once across all of them. A slot's message has the
// id "<name>@<slot>" (the slot in RFC 3339, UTC), and the backend records,
// for each schedule, the last slot enqueued, in the same atomic step as
// the enqueue ([core.ScheduleStore]): a scheduler that tries a slot at or
// before the recorded one is refused and moves on. The record matters
// where the id alone would not do: a scheduler whose clock lags tries a
// slot after another enqueued it, and the message may have been handled
// and garbage-collected meanwhile.
//
// A slot comes due when the scheduler's clock reaches it, so the message
// of a slot is enqueued by the fastest clock among the running schedulers.
// A new schedule's first slot is the first after its first scheduler
// started; after that, a scheduler that starts resumes after the last
// recorded slot.
//
// # Missed slots
//
// When a scheduler finds several slots due at once (no scheduler ran
// for a while, or its process was stalled), it enqueues the latest and
// skips the others, unless [WithCatchUp](n) asks for the latest n of them
// too, oldest first.
//
// # Messages
//
// Scheduled messages go through a [core.Publisher] (configured with
// [WithPublisherOptions]), so publish middleware such as tracing sees
// them. They carry the slot's time in [SlotHeader] (read it with
// [SlotOf]) and the schedule's name in [ScheduleHeader].
//
// # Visible schedules
//
// Running schedulers register their schedules in the backend with next
// and last slots, refreshed while they run and gone a while after they
// stop ([WithRegistryTTL]). [List] answers them; `redghost schedules`
// prints them.
package schedule
