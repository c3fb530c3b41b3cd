//go:build linux

package ftpproxy

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func reuseAddr(network, address string, c syscall.RawConn) error {
	return setInt(c, unix.SOL_SOCKET, unix.SO_REUSEADDR)
}

// setInt sets the socket option level/opt of c to 1.
func setInt(c syscall.RawConn, level, opt int) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket bound to a local
// address before connect, so the port is chosen at connect time for the
// whole 4-tuple: binding port 0 instead searches the ephemeral range past
// every port in TIME_WAIT, which a data connection per transfer makes slow.
//
// It is an optimisation: where the option is refused (old kernels), the
// dial goes on without it.
func bindNoPort(network, address string, c syscall.RawConn) error {
	setInt(c, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT)
	return nil
}

// originalDst returns the destination a connection had before an
// nftables/iptables REDIRECT or DNAT (SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST).
func originalDst(c net.Conn) (netip.AddrPort, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	v6 := !addrPortOf(c.LocalAddr()).Addr().Is4()
	var ap netip.AddrPort
	var serr error
	err = rc.Control(func(fd uintptr) {
		if !v6 {
			// struct sockaddr_in fits the 16 bytes of an ipv6_mreq.
			m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IP, unix.SO_ORIGINAL_DST)
			if err != nil {
				serr = err
				return
			}
			raw := m.Multiaddr
			port := binary.BigEndian.Uint16(raw[2:4])
			ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[4:8])), port)
			return
		}
		// struct sockaddr_in6 (28 bytes) fits an ip6_mtuinfo (32 bytes).
		mi, err := unix.GetsockoptIPv6MTUInfo(int(fd), unix.IPPROTO_IPV6, ip6tSOOriginalDst)
		if err != nil {
			serr = err
			return
		}
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&mi.Addr.Port))[:])
		ap = netip.AddrPortFrom(netip.AddrFrom16(mi.Addr.Addr).Unmap(), port)
	})
	if err != nil {
		return netip.AddrPort{}, err
	}
	return ap, serr
}

// ip6tSOOriginalDst is IP6T_SO_ORIGINAL_DST from linux/netfilter_ipv6/ip6_tables.h.
const ip6tSOOriginalDst = 80
