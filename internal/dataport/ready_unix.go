//go:build unix

package dataport

import (
	"net"

	"golang.org/x/sys/unix"
)

// Ready reports whether a connection waits in l's accept queue, without
// blocking and without a deadline: setting one arms a runtime timer, and
// a timer due soon wakes another thread.
func Ready(l *net.TCPListener) bool {
	rc, err := l.SyscallConn()
	if err != nil {
		return false
	}
	ready := false
	rc.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 0)
		ready = err == nil && n == 1 && pfd[0].Revents&unix.POLLIN != 0
	})
	return ready
}
