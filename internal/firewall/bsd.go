package firewall

import (
	"fmt"
	"strings"
)

// placeholderIf is the interface name used when Input.Interface is empty.
const placeholderIf = "em0"

func (in Input) iface() string {
	if in.Interface != "" {
		return in.Interface
	}
	return placeholderIf
}

func ifNote(b *strings.Builder, in Input) {
	if in.Interface == "" {
		fmt.Fprintf(b, "# Replace %s by the external interface (or pass --interface).\n", placeholderIf)
	}
}

// ipfPorts is an ipf port clause: "port = 21", "port >= 1024" or an
// exclusive range "port 29999 >< 30101".
func ipfPorts(p portRange) string {
	switch {
	case p.any():
		return ""
	case p.lo == p.hi:
		return fmt.Sprintf(" port = %d", p.lo)
	case p.hi == 65535:
		return fmt.Sprintf(" port >= %d", p.lo)
	}
	return fmt.Sprintf(" port %d >< %d", p.lo-1, p.hi+1)
}

func bsdAddr(a string) string {
	if a == "" {
		return "any"
	}
	return a
}

// writeIpf writes an IPFilter ipf.conf.
func writeIpf(b *strings.Builder, in Input, rs []rule, warn []string) {
	header(b, in, "IPFilter (ipf.conf)", warn)
	b.WriteString(`#
# Load with "ipf -Fa -f FILE". "keep state" admits the rest of each allowed
# connection; everything else on the interface is blocked. Port ranges use
# ipf's exclusive "><" form: "port 29999 >< 30101" is 30000 to 30100.
# For a server behind NAT, "ferry firewall --format ipnat" writes the
# ipnat.conf lines for the gateway.
`)
	activeNote(b, in, "# ")
	ifNote(b, in)
	ifc := in.iface()
	for _, r := range rs {
		dir := "in"
		if r.out {
			dir = "out"
		}
		fmt.Fprintf(b, "# %s\n", r.comment)
		fmt.Fprintf(b, "pass %s quick on %s proto tcp from %s%s to %s%s flags S/SA keep state\n",
			dir, ifc, bsdAddr(r.saddr), ipfPorts(r.sport), bsdAddr(r.daddr), ipfPorts(r.dport))
	}
	b.WriteString("# everything else\n")
	fmt.Fprintf(b, "block in quick on %s all\nblock out quick on %s all\n", ifc, ifc)
}

// writeIpnat writes the IPFilter ipnat.conf lines for a NAT gateway in
// front of the server, and the in-kernel FTP proxy alternative.
func writeIpnat(b *strings.Builder, in Input, rs []rule, warn []string) {
	header(b, in, "IPFilter NAT (ipnat.conf)", warn)
	b.WriteString("#\n# Load on the NAT gateway with \"ipnat -CF -f FILE\".\n")
	ifNote(b, in)
	ifc := in.iface()
	target := addrString(in.NATTarget)
	pub := addrString(in.PublicAddr)
	switch {
	case in.Proxy:
		b.WriteString("# ferry proxy is itself the gateway: it needs no ipnat rules of its own.\n")
	case pub == "":
		b.WriteString("# No public_addr is set, so the server is not configured to sit behind NAT:\n")
		b.WriteString("# set passive.public_addr (quick mode: --public-addr) to the gateway's\n")
		b.WriteString("# public address first, or clients are told the private one.\n")
	case target == "":
		b.WriteString("# The server's own address is unknown (listen is a wildcard): pass\n")
		b.WriteString("# --nat-target ADDR to get the rdr lines.\n")
	default:
		fmt.Fprintf(b, "# Server behind NAT: clients reach %s, the server is %s.\n", pub, target)
		b.WriteString("# rdr keeps each port's offset inside a range, so the passive range maps onto itself.\n")
		for _, r := range rs {
			if r.kind != kControl && r.kind != kPassive {
				continue
			}
			p := fmt.Sprintf("%d", r.dport.lo)
			if r.dport.hi != r.dport.lo {
				p = fmt.Sprintf("%d-%d", r.dport.lo, r.dport.hi)
			}
			fmt.Fprintf(b, "rdr %s %s/32 port %s -> %s port %d tcp\n", ifc, pub, p, target, r.dport.lo)
		}
		if !in.DisableActive {
			b.WriteString("# active data connections leave with the public address (and keep port 20)\n")
			fmt.Fprintf(b, "map %s %s/32 -> %s/32\n", ifc, target, pub)
		}
	}
	b.WriteString(`#
# Gateway for FTP clients on an inside network (not for this server): the
# in-kernel FTP proxy follows PORT and PASV and opens the data connections.
# Replace 10.0.0.0/8 by the inside network.
#   map ` + ifc + ` 10.0.0.0/8 -> 0/32 proxy port ftp ftp/tcp
# Use "ferry proxy" instead when sessions use FTPS (the kernel proxy cannot
# read an encrypted control connection), EPSV/EPRT or IPv6, a control port
# other than 21, or when you want per-user routing, command rules and
# transfer logs (see docs/proxy.md).
`)
}

// pfPorts is a pf port clause: "port 21", "port >= 1024" or "port 30000:30100".
func pfPorts(p portRange) string {
	switch {
	case p.any():
		return ""
	case p.lo == p.hi:
		return fmt.Sprintf(" port %d", p.lo)
	case p.hi == 65535:
		return fmt.Sprintf(" port >= %d", p.lo)
	}
	return fmt.Sprintf(" port %d:%d", p.lo, p.hi)
}

// writePf writes an OpenBSD pf.conf.
func writePf(b *strings.Builder, in Input, rs []rule, warn []string) {
	header(b, in, "OpenBSD pf (pf.conf)", warn)
	b.WriteString(`#
# Load with "pfctl -f FILE". pf keeps state for pass rules, which admits the
# rest of each allowed connection; everything else on $ext_if is blocked.
# (pf's ftp-proxy(8) is the gateway alternative for clients on an inside
# network; ferry proxy does the same and also handles FTPS.)
`)
	activeNote(b, in, "# ")
	ifNote(b, in)
	fmt.Fprintf(b, "ext_if = \"%s\"\n\nset skip on lo\nblock on $ext_if all\n", in.iface())
	for _, r := range rs {
		dir := "in"
		if r.out {
			dir = "out"
		}
		fmt.Fprintf(b, "# %s\n", r.comment)
		fmt.Fprintf(b, "pass %s quick on $ext_if proto tcp from %s%s to %s%s flags S/SA keep state\n",
			dir, bsdAddr(r.saddr), pfPorts(r.sport), bsdAddr(r.daddr), pfPorts(r.dport))
	}
	if pub, target := addrString(in.PublicAddr), addrString(in.NATTarget); pub != "" && !in.Proxy {
		if target == "" {
			target = "SERVER_ADDR"
		}
		fmt.Fprintf(b, "# On a pf NAT gateway in front of this server (public_addr = %s):\n", pub)
		for _, r := range rs {
			if r.kind == kControl || r.kind == kPassive {
				fmt.Fprintf(b, "#   pass in on $ext_if proto tcp to %s%s rdr-to %s\n", pub, pfPorts(r.dport), target)
			}
		}
		fmt.Fprintf(b, "#   match out on $ext_if from %s nat-to %s\n", target, pub)
	}
}
