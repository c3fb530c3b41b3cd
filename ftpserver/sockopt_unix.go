//go:build unix

package ftpserver

import (
	"net"
	"syscall"
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
