//go:build unix

package ftpserver

import "syscall"

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
