package ftpproxy

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// proxyV2Sig is the 12-byte signature of a PROXY protocol v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// appendProxyHeader appends a PROXY protocol header (version 1 or 2,
// haproxy's proxy-protocol.txt) for a TCP connection from src to dst. When
// the families differ, both addresses are written as IPv6 (IPv4-mapped).
func appendProxyHeader(b []byte, version int, src, dst netip.AddrPort) []byte {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	v4 := sa.Is4() && da.Is4()
	if !v4 {
		sa, da = as16(sa), as16(da)
	}
	if version == 1 {
		if v4 {
			b = append(b, "PROXY TCP4 "...)
		} else {
			b = append(b, "PROXY TCP6 "...)
		}
		b = sa.AppendTo(b)
		b = append(b, ' ')
		b = da.AppendTo(b)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(src.Port()), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
		return append(b, "\r\n"...)
	}
	b = append(b, proxyV2Sig...)
	b = append(b, 0x21) // version 2, PROXY command
	if v4 {
		b = append(b, 0x11) // AF_INET, STREAM
		b = binary.BigEndian.AppendUint16(b, 12)
		s, d := sa.As4(), da.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		b = append(b, 0x21) // AF_INET6, STREAM
		b = binary.BigEndian.AppendUint16(b, 36)
		s, d := sa.As16(), da.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

func as16(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}
