package redistest

import "syscall"

// procAttr makes the kernel kill the server when the test binary dies
// (a panic or a timeout skips t.Cleanup), so that no server outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
