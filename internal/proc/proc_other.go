//go:build !unix

package proc

import (
	"errors"
	"os"
	"syscall"
)

// StartGroup returns nil: process groups are a unix notion.
func StartGroup(dieWithParent bool) *syscall.SysProcAttr { return nil }

// Terminate kills the process pid (there is no group to signal).
func Terminate(pid int) error { return Kill(pid) }

// Kill kills the process pid.
func Kill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// ErrLocked is what TryLock returns when another process holds the lock.
var ErrLocked = errors.New("proc: file is locked by another process")

// Lock is not supported here.
func Lock(*os.File) error { return errors.ErrUnsupported }

// TryLock is not supported here.
func TryLock(*os.File) error { return errors.ErrUnsupported }

// Unlock is not supported here.
func Unlock(*os.File) error { return errors.ErrUnsupported }
