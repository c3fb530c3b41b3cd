package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// nftAddr returns the nft match for an address ("ip daddr 192.0.2.1").
func nftAddr(dir, a string) string {
	if a == "" {
		return ""
	}
	fam := "ip"
	if ip, err := netip.ParseAddr(a); err == nil && ip.Is6() && !ip.Is4In6() {
		fam = "ip6"
	}
	return fam + " " + dir + " " + a + " "
}

func nftPorts(dir string, p portRange) string {
	switch {
	case p.any():
		return ""
	case p.lo == p.hi:
		return fmt.Sprintf("tcp %s %d ", dir, p.lo)
	}
	return fmt.Sprintf("tcp %s %d-%d ", dir, p.lo, p.hi)
}

func nftMatch(r rule) string {
	s := nftAddr("saddr", r.saddr) + nftAddr("daddr", r.daddr) + nftPorts("sport", r.sport) + nftPorts("dport", r.dport)
	if r.sport.any() && r.dport.any() {
		s = "meta l4proto tcp " + s
	}
	return s
}

// writeNft writes an nftables ruleset: one table "inet ferry" whose base
// chains drop everything but ferry's connections. With helper, the ftp
// conntrack helper follows the control connections and its expectations
// admit the data connections instead of the explicit passive range.
func writeNft(b *strings.Builder, in Input, rs []rule, warn []string, helper bool) {
	b.WriteString("#!/usr/sbin/nft -f\n")
	if helper {
		header(b, in, "nftables (ftp conntrack helper variant)", nil)
	} else {
		header(b, in, "nftables", warn)
	}
	b.WriteString(`#
# Load with "nft -f FILE". The input and output chains have policy drop:
# on a host that serves more than FTP, keep the ferry_in and ferry_out
# chains and "jump" to them from your own input and output chains instead.
#
`)
	if helper {
		b.WriteString(`# Variant: the kernel's "ftp" conntrack helper reads each control connection
# and admits the data connection that PORT/EPRT or PASV/EPSV announces
# (ct state related), so no passive range needs to be open.
# Trade-offs: the helper cannot read an encrypted control connection, so
# FTPS (AUTH TLS, implicit TLS) data connections are dropped; it parses
# untrusted traffic in the kernel; it must be assigned to every control port
# explicitly (automatic assignment is off since Linux 4.7).
# Prefer the helper-free variant (ferry firewall --format nft) when the
# passive range is fixed or when FTPS is used.
`)
	} else {
		b.WriteString(`# Variant: helper-free. Passive data connections are admitted by the
# explicit passive range, active ones by their source port, and state
# tracking admits the rest of each connection. This works with FTPS, since
# nothing reads the control connection. The other variant (ferry firewall
# --format nft-helper) uses the kernel's ftp conntrack helper instead,
# which follows only plain-text control connections.
`)
	}
	activeNote(b, in, "# ")
	b.WriteString("\ntable inet ferry\ndelete table inet ferry\n\ntable inet ferry {\n")
	if helper {
		b.WriteString("\tct helper ftp-standard {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n\n")
		b.WriteString("\t# Attach the helper to the control connections, before they are confirmed.\n")
		b.WriteString("\tchain helpers {\n\t\ttype filter hook prerouting priority filter; policy accept;\n")
		for _, r := range rs {
			if r.kind == kControl {
				fmt.Fprintf(b, "\t\t%sct helper set \"ftp-standard\"\n", nftMatch(r))
			}
		}
		b.WriteString("\t}\n\n")
		if in.Proxy {
			b.WriteString("\tchain helpers_out {\n\t\ttype filter hook output priority filter; policy accept;\n")
			for _, r := range rs {
				if r.kind == kBackendCtl {
					fmt.Fprintf(b, "\t\t%sct helper set \"ftp-standard\"\n", nftMatch(r))
				}
			}
			b.WriteString("\t}\n\n")
		}
	}
	for _, dir := range []bool{false, true} {
		name := "ferry_in"
		if dir {
			name = "ferry_out"
		}
		fmt.Fprintf(b, "\tchain %s {\n", name)
		for _, r := range rs {
			if r.out != dir || helper && (r.kind == kPassive || r.kind == kActive || r.kind == kBackendData) {
				continue
			}
			fmt.Fprintf(b, "\t\t# %s\n", r.comment)
			fmt.Fprintf(b, "\t\t%sct state new accept\n", nftMatch(r))
		}
		b.WriteString("\t}\n\n")
	}
	for _, c := range []struct{ name, hook, jump, iface string }{
		{"input", "input", "ferry_in", "iif"}, {"output", "output", "ferry_out", "oif"},
	} {
		fmt.Fprintf(b, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy drop;\n", c.name, c.hook)
		if helper {
			b.WriteString("\t\t# related: the data connections the ftp helper expects, and ICMP errors\n")
		}
		b.WriteString("\t\tct state established,related accept\n")
		b.WriteString("\t\tct state invalid drop\n")
		fmt.Fprintf(b, "\t\t%s \"lo\" accept\n", c.iface)
		b.WriteString("\t\t# IPv6 neighbour discovery, without which IPv6 stops working\n")
		b.WriteString("\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept\n")
		fmt.Fprintf(b, "\t\tjump %s\n\t}\n", c.jump)
		if c.name == "input" {
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n")
	if !helper {
		nftNATNote(b, in, rs)
	}
}

// nftNATNote writes, as comments, the DNAT rules a Linux NAT gateway in
// front of the server needs when public_addr is set.
func nftNATNote(b *strings.Builder, in Input, rs []rule) {
	if !in.PublicAddr.IsValid() || in.Proxy {
		return
	}
	target := addrString(in.NATTarget)
	if target == "" {
		target = "SERVER_ADDR"
	}
	fmt.Fprintf(b, "\n# On a Linux NAT gateway in front of this server (public_addr = %s),\n", in.PublicAddr)
	b.WriteString("# forward the control port and the passive range to it, for example:\n")
	b.WriteString("#   table ip ferry_nat {\n#     chain prerouting {\n#       type nat hook prerouting priority dstnat; policy accept;\n")
	for _, r := range rs {
		if r.kind == kControl || r.kind == kPassive {
			fmt.Fprintf(b, "#       ip daddr %s %sdnat to %s\n", in.PublicAddr, nftPorts("dport", r.dport), target)
		}
	}
	b.WriteString("#     }\n#   }\n")
}

func iptPorts(opt string, p portRange) string {
	switch {
	case p.any():
		return ""
	case p.lo == p.hi:
		return fmt.Sprintf(" %s %d", opt, p.lo)
	}
	return fmt.Sprintf(" %s %d:%d", opt, p.lo, p.hi)
}

func iptAddr(opt, a string) string {
	if a == "" {
		return ""
	}
	return " " + opt + " " + a
}

// writeIptables writes an iptables-restore file for the filter table.
func writeIptables(b *strings.Builder, in Input, rs []rule, warn []string) {
	header(b, in, "iptables", warn)
	b.WriteString(`#
# Load with "iptables-restore FILE" (IPv4; the same file works with
# ip6tables-restore when it names no IPv4 address). This replaces the
# filter table: INPUT and OUTPUT drop everything but ferry's connections.
# On a host that serves more than FTP, keep the FERRY_IN and FERRY_OUT
# chains and "-j" to them from your own rules (iptables-restore --noflush).
# Helper-free: the passive range and the active source port are explicit
# and state tracking admits the rest, which also works with FTPS. (The
# alternative is "-t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp"
# plus "-m helper --helper ftp -m conntrack --ctstate RELATED -j ACCEPT";
# the helper cannot read FTPS control connections.)
`)
	activeNote(b, in, "# ")
	b.WriteString("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n:FERRY_IN - [0:0]\n:FERRY_OUT - [0:0]\n")
	for _, c := range []struct{ chain, iface, jump string }{{"INPUT", "-i", "FERRY_IN"}, {"OUTPUT", "-o", "FERRY_OUT"}} {
		fmt.Fprintf(b, "-A %s %s lo -j ACCEPT\n", c.chain, c.iface)
		fmt.Fprintf(b, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", c.chain)
		fmt.Fprintf(b, "-A %s -m conntrack --ctstate INVALID -j DROP\n", c.chain)
		fmt.Fprintf(b, "-A %s -j %s\n", c.chain, c.jump)
	}
	for _, r := range rs {
		chain := "FERRY_IN"
		if r.out {
			chain = "FERRY_OUT"
		}
		fmt.Fprintf(b, "# %s\n", r.comment)
		fmt.Fprintf(b, "-A %s -p tcp%s%s%s%s -m conntrack --ctstate NEW -j ACCEPT\n", chain,
			iptAddr("-s", r.saddr), iptAddr("-d", r.daddr), iptPorts("--sport", r.sport), iptPorts("--dport", r.dport))
	}
	b.WriteString("COMMIT\n")
}
