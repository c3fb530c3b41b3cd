package ftpserver

import (
	"fmt"
	"net"
	"sync"
)

// SendfileMode chooses how a binary download of a local file is sent over
// a plain TCP data connection (TLS, ASCII and rate-limited downloads are
// always copied in user space).
//
// sendfile(2) saves the server a copy, but when the client runs on this
// host (loopback, or another local address, which the kernel also routes
// through its loopback device) the receiver's copy is the only one left and
// it reads the file's page-cache pages, which are cold in the CPU caches.
// Copying through a small buffer moves that cold read to the server and
// hands the client bytes that were just written, still in the shared cache:
// on the 2-core test VM a 1 GiB RETR to a local curl ran at 1.13–1.43× the
// rate (curl's whole transfer, login included; medians of two sets of 15
// alternated pairs) with less CPU on both sides (server
// 0.29 against 0.38 s per GiB, curl 0.14 against 0.22 s of system time).
// Across a network interface the receiver's copy happens on another
// machine, and sendfile keeps its advantage. docs/BENCHMARKS.md ("Round 4:
// sendfile against a copy") has the figures.
type SendfileMode int

const (
	// SendfileAuto uses sendfile(2) unless the data connection's two ends
	// are on this host (a loopback address, or the same local address).
	SendfileAuto SendfileMode = iota
	// SendfileAlways uses sendfile(2) for every plain binary download.
	SendfileAlways
	// SendfileNever copies every download through a buffer.
	SendfileNever
)

// ParseSendfileMode maps "auto", "always" and "never" to a SendfileMode.
func ParseSendfileMode(s string) (SendfileMode, error) {
	switch s {
	case "", "auto":
		return SendfileAuto, nil
	case "always":
		return SendfileAlways, nil
	case "never":
		return SendfileNever, nil
	}
	return 0, fmt.Errorf("sendfile: %q is not auto, always or never", s)
}

// String returns the name ParseSendfileMode accepts.
func (m SendfileMode) String() string {
	switch m {
	case SendfileAlways:
		return "always"
	case SendfileNever:
		return "never"
	}
	return "auto"
}

// useSendfile reports whether a download over conn goes out with
// sendfile(2) under mode m.
func (m SendfileMode) useSendfile(conn *net.TCPConn) bool {
	switch m {
	case SendfileAlways:
		return true
	case SendfileNever:
		return false
	}
	return !sameHost(conn.LocalAddr(), conn.RemoteAddr())
}

// sameHost reports whether the peer of a connection is this host: a
// loopback address, or the connection's own local address.
func sameHost(local, remote net.Addr) bool {
	l, ok1 := local.(*net.TCPAddr)
	r, ok2 := remote.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	return r.IP.IsLoopback() || r.IP.Equal(l.IP)
}

// copyBufSize is the buffer of a download copied in user space: large
// enough that the system calls per byte do not count, small enough to stay
// in the CPU's cache between the read and the write (pure-ftpd's size).
const copyBufSize = 128 << 10

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}
