// Package proxyproto reads and writes PROXY protocol headers (versions 1
// and 2, as specified in HAProxy's proxy-protocol.txt), which a load
// balancer or proxy sends before a TCP stream to pass on the client's
// address.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// sigV2 is the 12-byte signature of a version 2 header.
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// maxV1 is the longest version 1 header, CRLF included.
const maxV1 = 107

// maxV2Body bounds the address block and TLVs of a version 2 header.
const maxV2Body = 2048

// ErrInvalid is wrapped by every error about a malformed header.
var ErrInvalid = errors.New("invalid PROXY protocol header")

// Header is a parsed header. Local is true for health checks (v2 LOCAL,
// v1 UNKNOWN): the connection's own addresses apply.
type Header struct {
	Version  int
	Local    bool
	Src, Dst netip.AddrPort
}

// Read reads one header from r, byte-exactly: it never consumes bytes of the
// stream that follows, so r can be the bare connection.
func Read(r io.Reader) (Header, error) {
	var first [1]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return Header{}, err
	}
	switch first[0] {
	case 'P':
		return readV1(r)
	case '\r':
		return readV2(r)
	}
	return Header{}, fmt.Errorf("%w: does not start with a signature", ErrInvalid)
}

func readV1(r io.Reader) (Header, error) {
	line := []byte{'P'}
	var b [1]byte
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) >= maxV1 {
			return Header{}, fmt.Errorf("%w: version 1 line longer than %d bytes", ErrInvalid, maxV1)
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Header{}, err
		}
		line = append(line, b[0])
	}
	f := strings.Split(string(line[:len(line)-2]), " ")
	if f[0] != "PROXY" || len(f) < 2 {
		return Header{}, fmt.Errorf("%w: version 1 line %q", ErrInvalid, line)
	}
	if f[1] == "UNKNOWN" {
		return Header{Version: 1, Local: true}, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return Header{}, fmt.Errorf("%w: version 1 line %q", ErrInvalid, line)
	}
	src, err1 := parseV1Addr(f[2], f[4], f[1] == "TCP4")
	dst, err2 := parseV1Addr(f[3], f[5], f[1] == "TCP4")
	if err := errors.Join(err1, err2); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Header{Version: 1, Src: src, Dst: dst}, nil
}

func parseV1Addr(ip, port string, v4 bool) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() != v4 || a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", ip)
	}
	if len(port) > 1 && port[0] == '0' {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", port)
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

func readV2(r io.Reader) (Header, error) {
	var hdr [16]byte
	hdr[0] = '\r'
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return Header{}, err
	}
	if !bytes.Equal(hdr[:12], sigV2) {
		return Header{}, fmt.Errorf("%w: bad version 2 signature", ErrInvalid)
	}
	if hdr[12]>>4 != 2 {
		return Header{}, fmt.Errorf("%w: version %d", ErrInvalid, hdr[12]>>4)
	}
	n := int(binary.BigEndian.Uint16(hdr[14:]))
	if n > maxV2Body {
		return Header{}, fmt.Errorf("%w: %d-byte body", ErrInvalid, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return Header{}, err
	}
	h := Header{Version: 2}
	switch hdr[12] & 0x0f {
	case 0: // LOCAL
		h.Local = true
		return h, nil
	case 1: // PROXY
	default:
		return Header{}, fmt.Errorf("%w: command %d", ErrInvalid, hdr[12]&0x0f)
	}
	switch hdr[13] {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return Header{}, fmt.Errorf("%w: short IPv4 block", ErrInvalid)
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:]))
	case 0x21: // TCP over IPv6
		if n < 36 {
			return Header{}, fmt.Errorf("%w: short IPv6 block", ErrInvalid)
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])).Unmap(), binary.BigEndian.Uint16(body[32:]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])).Unmap(), binary.BigEndian.Uint16(body[34:]))
	default: // UNSPEC, UDP or UNIX: nothing we can use
		h.Local = true
	}
	return h, nil
}

// Append appends a header of the given version (1 or 2) for a TCP
// connection from src to dst. When the families differ, both addresses are
// written as IPv6 (IPv4-mapped).
func Append(b []byte, version int, src, dst netip.AddrPort) []byte {
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
	b = append(b, sigV2...)
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
