//go:build unix

package dataport

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Ready reports whether a connection waits in l's accept queue, without
// blocking and without a deadline: setting one arms a runtime timer, and
// a timer due soon wakes another thread.
func Ready(l *net.TCPListener) bool { return ReadyWithin(l, 0) }

// ReadyWithin is Ready, waiting up to d (in this thread, with poll(2)) for
// a connection to arrive. It is for a connection known to be on its way
// within microseconds, such as that of a client that sent its transfer
// command right behind EPSV.
func ReadyWithin(l *net.TCPListener, d time.Duration) bool {
	rc, err := l.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	rc.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		ms := int((d + time.Millisecond - 1) / time.Millisecond) // poll(2) counts whole milliseconds
		for {
			n, err := unix.Poll(pfd, ms)
			if err == unix.EINTR {
				continue
			}
			ready = err == nil && n == 1 && pfd[0].Revents&unix.POLLIN != 0
			return
		}
	})
	return ready
}
