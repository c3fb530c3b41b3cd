//go:build unix

package proc

import (
	"errors"
	"os"
	"syscall"
)

// StartGroup makes cmd's process the leader of a new process group, so
// that Terminate and Kill reach every process it forks. With
// dieWithParent (Linux only) the process is also killed when this one dies.
func StartGroup(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(a, dieWithParent)
	return a
}

// Terminate sends SIGTERM to the process group led by pid.
func Terminate(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) }

// Kill sends SIGKILL to the process group led by pid.
func Kill(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

// ErrLocked is what TryLock returns when another process holds the lock.
var ErrLocked = errors.New("proc: file is locked by another process")

// Lock takes an exclusive lock on f, waiting for it.
func Lock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// TryLock takes an exclusive lock on f or returns ErrLocked at once.
func TryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// Unlock releases a lock taken with Lock or TryLock.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
