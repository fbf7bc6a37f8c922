package chaos_test

import (
	"testing"
	"time"
)

// TestChaosWorkerKill kills workers with kill -9 under load, again and
// again, and starts new ones: their messages come back when their locks
// expire, and only those are handled twice.
func TestChaosWorkerKill(t *testing.T) {
	s := newScenario(t, "kill-workers")
	wo := workerOpts{handle: 2 * time.Millisecond}
	ws := s.startWorkers(3, wo)
	n := pick(3000, 100_000)
	prod := s.startProducer(producerOpts{n: n, rate: pick(1000, 2000)})
	kills := pick(3, 20)
	for i := range kills {
		time.Sleep(pick(700*time.Millisecond, 2*time.Second))
		victim := ws[i%len(ws)]
		f := s.beginFault("kill -9 " + victim.name)
		victim.kill()
		f.finish()
		s.addLocked(f)
		ws[i%len(ws)] = s.startWorker(wo)
	}
	s.waitDrained(prod, pick(60*time.Second, 10*time.Minute))
	time.Sleep(2 * time.Second) // late duplicates, if any, show up
	s.stopWorkers(30 * time.Second)
	s.verify(s.check())
}
