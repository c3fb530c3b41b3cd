//go:build !linux

package ftpproxy

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

func reuseAddr(network, address string, c syscall.RawConn) error { return nil }

func bindNoPort(network, address string, c syscall.RawConn) error { return nil }

func originalDst(c net.Conn) (netip.AddrPort, error) {
	return netip.AddrPort{}, errors.New("transparent mode needs Linux (SO_ORIGINAL_DST)")
}
