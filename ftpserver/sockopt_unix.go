//go:build unix

package ftpserver

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuseAddr sets SO_REUSEADDR so that several active data connections can
// originate from the same local port (20) towards different clients.
func reuseAddr(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// oobInline keeps TCP urgent data in the normal stream. Clients send ABOR
// (and Telnet IP/DM) as urgent data (RFC 959 section 4.1.3; Python's ftplib
// sends the whole "ABOR\r\n" with MSG_OOB): without SO_OOBINLINE the kernel
// would take the urgent byte out of the stream and the line would never end.
func oobInline(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
	})
}

// acceptReady reports whether a connection is waiting in l's accept queue,
// without blocking and without a deadline: setting one arms a runtime
// timer, and adding a timer that is due soon wakes another thread.
func acceptReady(l *net.TCPListener) bool {
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
