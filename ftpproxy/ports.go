package ftpproxy

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
)

// listenData opens a data listener on ip, on a random port in [lo, hi]
// chosen with crypto/rand (the kernel's choice when lo is 0), so that data
// ports cannot be predicted by a third party trying to steal them.
func listenData(ip netip.Addr, lo, hi int) (*net.TCPListener, error) {
	host := ip.WithZone("").String()
	if lo == 0 {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		return l.(*net.TCPListener), nil
	}
	n := hi - lo + 1
	tries := min(64, 2*n)
	var last error
	for range tries {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		port := lo + int(binary.BigEndian.Uint32(b[:])%uint32(n))
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err == nil {
			return l.(*net.TCPListener), nil
		}
		last = err
	}
	if last == nil {
		last = errors.New("empty port range")
	}
	return nil, last
}

// addrPortOf returns the unmapped address and port of a net.Addr.
func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
