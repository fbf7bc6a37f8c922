//go:build !linux

package redistest

import "syscall"

// procAttr: without Pdeathsig outside Linux, a server outlives a test
// binary that dies without running its cleanups.
func procAttr() *syscall.SysProcAttr { return nil }
