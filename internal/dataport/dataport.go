// Package dataport opens the listeners of passive data connections for the
// FTP server (ftpserver) and the proxy (ftpproxy).
//
// The port is drawn with crypto/rand from the configured range, so that a
// third party cannot predict it to steal the connection, and ports that are
// taken are skipped by probing onwards. Asking the kernel for port 0 instead
// is slow on a busy host: Linux searches its ephemeral range past every port
// held by a socket in TIME_WAIT, and a data connection per transfer leaves
// thousands of those (measured: 2-6 ms per listen through the proxy after a
// few thousand small transfers, against 0.2 ms per whole transfer for a
// fixed-range draw).
package dataport

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Range bounds used when the caller configures none: every unprivileged
// port.
const (
	DefaultMin = 1024
	DefaultMax = 65535
)

// maxTries bounds the probing of one Listen call.
const maxTries = 2048

// listenConfig turns TCP keep-alive off: a data connection ends with its
// transfer, and the idle and data timeouts bound a stalled one.
var listenConfig = net.ListenConfig{KeepAlive: -1}

// Listen listens on ip at a port drawn from [lo, hi] (both 0: DefaultMin
// to DefaultMax), probing onwards from the drawn port past ports in use.
func Listen(ip netip.Addr, lo, hi int) (*net.TCPListener, error) {
	if lo == 0 && hi == 0 {
		lo, hi = DefaultMin, DefaultMax
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("dataport: invalid port range %d-%d", lo, hi)
	}
	ip = ip.WithZone("")
	span := hi - lo + 1
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	start := int(binary.LittleEndian.Uint64(b[:]) % uint64(span))
	var lastErr error
	for i := range min(span, maxTries) {
		port := lo + (start+i)%span
		l, err := listenConfig.Listen(context.Background(), "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return l.(*net.TCPListener), nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("dataport: no free port in %d-%d: %w", lo, hi, lastErr)
}

// MaxStale bounds the stale connections Drain closes before it gives a
// kept listener up.
const MaxStale = 8

// Drain readies a kept passive listener for reuse: a connection waiting in
// its queue came before the reply that announces the port again, so it is
// not the client's data connection for the new transfer; Drain closes it
// (after telling stale, which may be nil) and reports whether l can be
// used. After MaxStale such connections, or an accept error, it reports
// false: the caller closes l and opens another.
func Drain(l *net.TCPListener, stale func(net.Conn)) bool {
	for range MaxStale {
		if !Ready(l) {
			return true
		}
		c, err := l.AcceptTCP()
		if err != nil {
			return false
		}
		if stale != nil {
			stale(c)
		}
		c.Close()
	}
	return false
}
