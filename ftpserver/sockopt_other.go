//go:build !unix

package ftpserver

import (
	"net"
	"syscall"
)

// reuseAddr does nothing here: Windows' SO_REUSEADDR lets another socket
// take over a bound port, which is not what the active-mode source port
// (L-1) needs. Binding it then fails when the port is busy, and the server
// falls back to an ephemeral source port (logged once).
func reuseAddr(network, address string, c syscall.RawConn) error { return nil }

// oobInline does nothing here: this build does not set SO_OOBINLINE, so
// an ABOR sent as TCP urgent data (Python's ftplib) may lose its urgent
// byte and not end its line. The server is built for, and tested on, unix;
// this file only keeps the package building elsewhere.
func oobInline(c net.Conn) {}
