package ftp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// This file is the only place where the host-port forms of RFC 959 (PORT,
// 227 replies) and RFC 2428 (EPRT, 229 replies) are parsed and formatted.

// ParsePORT parses the argument of a PORT command, strictly
// "h1,h2,h3,h4,p1,p2" (RFC 959 section 4.1.2): six decimal numbers of one to
// three digits, each 0..255, separated by single commas. Surrounding spaces
// are tolerated; nothing else is. Errors are *Error with CodeArgSyntax (501).
//
// The returned address is IPv4. The port may be 0; policy (ports >= 1024,
// same IP as the control connection) is the caller's business.
func ParsePORT(arg string) (netip.AddrPort, error) {
	s := strings.Trim(arg, " ")
	var n [6]byte
	for i := range n {
		v, w, ok := parseByte(s, 3)
		if !ok {
			return netip.AddrPort{}, errPORTSyntax()
		}
		n[i] = v
		s = s[w:]
		if i < 5 {
			if s == "" || s[0] != ',' {
				return netip.AddrPort{}, errPORTSyntax()
			}
			s = s[1:]
		}
	}
	if s != "" {
		return netip.AddrPort{}, errPORTSyntax()
	}
	return hostPort(n), nil
}

func errPORTSyntax() error {
	return &Error{Code: CodeArgSyntax, Message: "Syntax error in PORT argument, expected h1,h2,h3,h4,p1,p2."}
}

// FormatPORT formats an IPv4 (or IPv4-mapped IPv6) address as a PORT
// argument "h1,h2,h3,h4,p1,p2". Other addresses give ErrNotIPv4.
func FormatPORT(ap netip.AddrPort) (string, error) {
	b, err := appendHostPort(nil, ap)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// FormatPASVReply returns the text of a 227 reply for ap,
// "Entering Passive Mode (h1,h2,h3,h4,p1,p2).". Addresses that are neither
// IPv4 nor IPv4-mapped give ErrNotIPv4.
func FormatPASVReply(ap netip.AddrPort) (string, error) {
	b := make([]byte, 0, 48)
	b = append(b, "Entering Passive Mode ("...)
	b, err := appendHostPort(b, ap)
	if err != nil {
		return "", err
	}
	b = append(b, ")."...)
	return string(b), nil
}

// ParsePASVReply extracts the address from the text of a 227 reply. It is
// tolerant, as servers vary: it takes the first run of six comma-separated
// decimal numbers (each 0..255, spaces after the commas allowed) anywhere in
// msg, with or without parentheses. Errors wrap ErrBadReply.
func ParsePASVReply(msg string) (netip.AddrPort, error) {
	for i := 0; i < len(msg); i++ {
		if !isDigit(msg[i]) || i > 0 && isDigit(msg[i-1]) {
			continue
		}
		if n, ok := scanSixNumbers(msg[i:]); ok {
			return hostPort(n), nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("%w: no h1,h2,h3,h4,p1,p2 in 227 reply", ErrBadReply)
}

// scanSixNumbers reads "n,n,n,n,n,n" at the start of s.
func scanSixNumbers(s string) (n [6]byte, ok bool) {
	for i := range n {
		v, w, ok := parseByte(s, 3)
		if !ok {
			return n, false
		}
		n[i] = v
		s = s[w:]
		if i == 5 {
			// The number must end here, not continue with more digits.
			return n, s == "" || !isDigit(s[0])
		}
		if s == "" || s[0] != ',' {
			return n, false
		}
		s = strings.TrimLeft(s[1:], " ")
	}
	return n, false
}

// ParseEPRT parses the argument of an EPRT command (RFC 2428 section 2),
// "<d><proto><d><addr><d><port><d>", where the delimiter d is any printable
// ASCII character (33..126) other than a digit, usually "|". Protocol 1 takes
// a dotted-quad IPv4 address, protocol 2 an IPv6 address without zone; the
// port is 1..65535. Surrounding spaces are tolerated.
//
// A malformed argument gives *Error with CodeArgSyntax (501); a protocol
// other than 1 or 2 gives *Error with CodeNetProtoNotSupported (522) and the
// message RFC 2428 suggests. An IPv4-mapped IPv6 address is returned
// unmapped, so callers can compare it with the control connection's peer
// address after unmapping that too.
func ParseEPRT(arg string) (netip.AddrPort, error) {
	s := strings.Trim(arg, " ")
	if len(s) < 2 || s[0] < 33 || s[0] > 126 || isDigit(s[0]) {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	d := s[:1]
	parts := strings.Split(s, d)
	// "" proto addr port ""
	if len(parts) != 5 || parts[0] != "" || parts[4] != "" {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	proto, addr, port := parts[1], parts[2], parts[3]
	if proto == "" || len(proto) > 5 || !allDigits(proto) {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	if proto != "1" && proto != "2" {
		return netip.AddrPort{}, errEPRTProto()
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	if proto == "1" && !ip.Is4() || proto == "2" && !ip.Is6() {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	if port == "" || len(port) > 5 || !allDigits(port) {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	p, _ := strconv.Atoi(port)
	if p < 1 || p > 65535 {
		return netip.AddrPort{}, errEPRTSyntax()
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

func errEPRTSyntax() error {
	return &Error{Code: CodeArgSyntax, Message: "Syntax error in EPRT argument, expected |proto|addr|port|."}
}

func errEPRTProto() error {
	return &Error{Code: CodeNetProtoNotSupported, Message: "Network protocol not supported, use (1,2)"}
}

// FormatEPRT formats ap as an EPRT argument, "|1|192.0.2.1|6446|" for IPv4
// and IPv4-mapped addresses or "|2|2001:db8::1|6446|" for IPv6. A zone is
// dropped.
func FormatEPRT(ap netip.AddrPort) string {
	ip := ap.Addr().Unmap().WithZone("")
	b := make([]byte, 0, 64)
	if ip.Is4() {
		b = append(b, "|1|"...)
	} else {
		b = append(b, "|2|"...)
	}
	b = ip.AppendTo(b)
	b = append(b, '|')
	b = strconv.AppendUint(b, uint64(ap.Port()), 10)
	b = append(b, '|')
	return string(b)
}

// FormatEPSVReply returns the text of a 229 reply (RFC 2428 section 3),
// "Entering Extended Passive Mode (|||6446|)".
func FormatEPSVReply(port uint16) string {
	b := make([]byte, 0, 48)
	b = append(b, "Entering Extended Passive Mode (|||"...)
	b = strconv.AppendUint(b, uint64(port), 10)
	b = append(b, "|)"...)
	return string(b)
}

// ParseEPSVReply extracts the port from the text of a 229 reply: the first
// "(<d><d><d>port<d>)" in msg, with any printable delimiter d (33..126, not
// a digit) and a port of 1..65535. Errors wrap ErrBadReply.
func ParseEPSVReply(msg string) (uint16, error) {
	for i := 0; i+6 <= len(msg); i++ {
		if msg[i] != '(' {
			continue
		}
		s := msg[i+1:]
		d := s[0]
		if d < 33 || d > 126 || isDigit(d) || s[1] != d || s[2] != d {
			continue
		}
		s = s[3:]
		j := 0
		for j < len(s) && j < 6 && isDigit(s[j]) {
			j++
		}
		if j == 0 || j > 5 || j+2 > len(s) || s[j] != d || s[j+1] != ')' {
			continue
		}
		p, _ := strconv.Atoi(s[:j])
		if p < 1 || p > 65535 {
			continue
		}
		return uint16(p), nil
	}
	return 0, fmt.Errorf("%w: no (|||port|) in 229 reply", ErrBadReply)
}

// parseByte reads one to maxDigits decimal digits at the start of s and
// returns their value if it is at most 255, and how many bytes it read.
func parseByte(s string, maxDigits int) (v byte, n int, ok bool) {
	x := 0
	for n < len(s) && isDigit(s[n]) {
		if n == maxDigits {
			return 0, 0, false
		}
		x = x*10 + int(s[n]-'0')
		n++
	}
	if n == 0 || x > 255 {
		return 0, 0, false
	}
	return byte(x), n, true
}

func hostPort(n [6]byte) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{n[0], n[1], n[2], n[3]}), uint16(n[4])<<8|uint16(n[5]))
}

func appendHostPort(b []byte, ap netip.AddrPort) ([]byte, error) {
	ip := ap.Addr().Unmap()
	if !ip.Is4() {
		return b, ErrNotIPv4
	}
	a := ip.As4()
	for _, x := range a {
		b = strconv.AppendUint(b, uint64(x), 10)
		b = append(b, ',')
	}
	b = strconv.AppendUint(b, uint64(ap.Port()>>8), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(ap.Port()&0xff), 10)
	return b, nil
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
