package redistest

import (
	"fmt"
	"syscall"
)

// Pause stops the server with SIGSTOP: it keeps its connections and its
// data but answers nothing until [Server.Resume], as a server stalled by
// its host would. Fault tests use it to stall Redis past a lock.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a server stopped by [Server.Pause] (SIGCONT).
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("redis-server on %s is not running", s.Addr())
	}
	return p.cmd.Process.Signal(sig)
}
