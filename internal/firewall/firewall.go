// Package firewall writes packet-filter rules that let ferry's FTP sessions
// through and nothing else, for nftables, iptables, IPFilter (ipf and
// ipnat) and OpenBSD pf.
//
// FTP (RFC 959) uses a control connection to the server's listening port
// and one data connection per transfer: in passive mode (PASV, EPSV of
// RFC 2428) from the client to a server port named in the reply, in active
// mode (PORT, EPRT) from the server's port L-1 to a client port. The
// generator is a set of pure functions over Input; cmd/ferry maps ferry's
// configuration to Input, so the rules follow the same settings the server
// or proxy runs with.
package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// Listener is one address the server or proxy accepts control connections on.
type Listener struct {
	// Addr is the local address, or the zero Addr for every address.
	Addr netip.Addr
	// Port is the TCP port.
	Port int
	// Setting names the ferry setting it comes from, e.g. `listen = ":21"`.
	Setting string
	// ActivePort is the source port of active data connections of sessions
	// on this listener: 0 for any (ephemeral) port.
	ActivePort int
}

// Backend is one server the proxy connects to.
type Backend struct {
	// Host is an IP address or a name the firewall resolves at load time;
	// "" means any host.
	Host string
	// Port is the control port, 0 for any.
	Port int
}

// NetAddr is one public_addr_by_net entry.
type NetAddr struct {
	Net  netip.Prefix
	Addr netip.Addr
}

// Input is what the rules are derived from.
type Input struct {
	// Proxy selects the wording and the backend rules of ferry proxy.
	Proxy bool
	// Settings are the ferry settings the rules were derived from, one
	// "key = value" line each, printed at the top of the output.
	Settings []string
	// Listeners are the control ports.
	Listeners []Listener
	// PassiveMin and PassiveMax bound the passive (data listener) ports;
	// both 0 means the kernel chooses any port from 1024 to 65535.
	PassiveMin, PassiveMax int
	// DisableActive leaves active mode out (PORT and EPRT are refused).
	DisableActive bool
	// ClientPortMin is the lowest client port an active connection may go
	// to: 1024 (RFC 2577), or 1 with allow_low_port.
	ClientPortMin int
	// PublicAddr and PublicAddrByNet are the addresses announced in PASV
	// replies; they matter for the NAT rules.
	PublicAddr      netip.Addr
	PublicAddrByNet []NetAddr
	// NATTarget is the server's own address that a NAT gateway redirects
	// to; the zero Addr when unknown.
	NATTarget netip.Addr
	// Interface is the external interface for ipf, ipnat and pf; "" uses
	// a placeholder the operator must replace.
	Interface string

	// Backends are the servers ferry proxy connects to (control).
	Backends []Backend
	// ServerPassive and ServerActive say which data modes the proxy uses
	// toward its servers.
	ServerPassive, ServerActive bool
}

// Formats lists the accepted output formats.
var Formats = []string{"nft", "nft-helper", "iptables", "ipf", "ipnat", "pf"}

// Generate returns the rules for format, and warnings about rules that
// cannot be tight with the given settings.
func Generate(in Input, format string) (string, []string, error) {
	if len(in.Listeners) == 0 {
		return "", nil, fmt.Errorf("firewall: no control port")
	}
	for _, l := range in.Listeners {
		if l.Port < 1 || l.Port > 65535 {
			return "", nil, fmt.Errorf("firewall: control port %d out of range", l.Port)
		}
	}
	if in.ClientPortMin == 0 {
		in.ClientPortMin = 1024
	}
	rs, warn := in.rules()
	var b strings.Builder
	switch format {
	case "nft":
		writeNft(&b, in, rs, warn, false)
	case "nft-helper":
		writeNft(&b, in, rs, warn, true)
		warn = nil // the helper opens neither the range nor the active port
	case "iptables":
		writeIptables(&b, in, rs, warn)
	case "ipf":
		writeIpf(&b, in, rs, warn)
	case "ipnat":
		writeIpnat(&b, in, rs, warn)
	case "pf":
		writePf(&b, in, rs, warn)
	default:
		return "", nil, fmt.Errorf("firewall: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
	}
	return b.String(), warn, nil
}

// portRange is an inclusive TCP port range; the zero value is any port.
type portRange struct{ lo, hi int }

func (p portRange) any() bool { return p.lo == 0 && p.hi == 0 }

// kind tells data rules from control rules (the helper variant of nft
// replaces passive and active data rules by the conntrack helper).
type kind int

const (
	kControl kind = iota
	kPassive
	kActive
	kBackendCtl
	kBackendData
)

// rule is one stateful "allow new TCP connections" rule: the replies and
// the rest of the connection pass by state tracking.
type rule struct {
	comment string
	out     bool // outbound (this host connects) or inbound
	kind    kind
	saddr   string // "" any
	daddr   string
	sport   portRange
	dport   portRange
}

func addrString(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return ""
	}
	return a.String()
}

// rules derives the abstract rule list shared by every dialect.
func (in Input) rules() ([]rule, []string) {
	var rs []rule
	var warn []string
	what := "server"
	if in.Proxy {
		what = "proxy"
	}
	for _, l := range in.Listeners {
		rs = append(rs, rule{comment: "control connections from clients (" + l.Setting + ")",
			kind: kControl, daddr: addrString(l.Addr), dport: portRange{l.Port, l.Port}})
	}
	pasv := portRange{in.PassiveMin, in.PassiveMax}
	pasvSetting := "passive.port_min/port_max"
	if in.Proxy {
		pasvSetting = "data_ports"
	}
	if pasv.any() {
		pasv = portRange{1024, 65535}
		warn = append(warn, fmt.Sprintf("no %s set: the %s may pick any port from 1024 to 65535 for passive data, so the rules must open all of them; set a range (for example 30000-30999)", pasvSetting, what))
	}
	localAddr := ""
	if len(in.Listeners) > 0 {
		localAddr = addrString(in.Listeners[0].Addr)
		for _, l := range in.Listeners[1:] {
			if addrString(l.Addr) != localAddr {
				localAddr = ""
			}
		}
	}
	rs = append(rs, rule{comment: fmt.Sprintf("passive data connections from clients (%s %d-%d)", pasvSetting, pasv.lo, pasv.hi),
		kind: kPassive, daddr: localAddr, dport: pasv})
	if !in.DisableActive {
		seen := map[int]bool{}
		for _, l := range in.Listeners {
			if seen[l.ActivePort] {
				continue
			}
			seen[l.ActivePort] = true
			r := rule{out: true, kind: kActive, saddr: addrString(l.Addr), dport: portRange{in.ClientPortMin, 65535}}
			if l.ActivePort == 0 {
				r.comment = fmt.Sprintf("active data connections to clients from any local port (%s)", l.Setting)
				warn = append(warn, "active data connections come from ephemeral ports, so the outbound rule allows any source port; set a fixed active port to tighten it")
			} else {
				r.sport = portRange{l.ActivePort, l.ActivePort}
				r.comment = fmt.Sprintf("active data connections to clients from port %d (%s)", l.ActivePort, l.Setting)
			}
			rs = append(rs, r)
		}
	}
	if in.Proxy {
		for _, be := range in.Backends {
			r := rule{out: true, kind: kBackendCtl, daddr: be.Host}
			if be.Port != 0 {
				r.dport = portRange{be.Port, be.Port}
			}
			r.comment = "control connections to the server " + backendName(be)
			rs = append(rs, r)
			if be.Host == "" && be.Port == 0 {
				warn = append(warn, "the proxy may connect to any host and port (explicit or transparent mode with open destinations); narrow allow_destinations")
			}
		}
		for _, be := range in.Backends {
			if in.ServerPassive {
				rs = append(rs, rule{out: true, kind: kBackendData, daddr: be.Host, dport: portRange{1024, 65535},
					comment: "passive data connections to the server " + backendName(be) + " (server_data = passive or same)"})
			}
			if in.ServerActive {
				// The server-side data listener is on the address facing
				// the server, not the listen address: no daddr.
				rs = append(rs, rule{kind: kBackendData, saddr: be.Host, dport: pasv,
					comment: "active data connections from the server " + backendName(be) + " (server_data = active or same)"})
			}
		}
	}
	return rs, warn
}

func backendName(b Backend) string {
	h := b.Host
	if h == "" {
		h = "any host"
	}
	if b.Port == 0 {
		return h + ", any port"
	}
	return h + " port " + fmt.Sprint(b.Port)
}

// header writes the comment block naming the settings, in the comment
// syntax every dialect shares.
func header(b *strings.Builder, in Input, dialect string, warn []string) {
	what := "ferry serve"
	if in.Proxy {
		what = "ferry proxy"
	}
	fmt.Fprintf(b, "# %s rules for %s, written by `ferry firewall`.\n", dialect, what)
	b.WriteString("# They let its FTP sessions through and nothing else, derived from:\n")
	for _, s := range in.Settings {
		fmt.Fprintf(b, "#   %s\n", s)
	}
	for _, w := range warn {
		fmt.Fprintf(b, "# WARNING: %s\n", w)
	}
}

// activeNote is the reminder that the fixed active port needs privileges.
func activeNote(b *strings.Builder, in Input, prefix string) {
	if in.DisableActive {
		fmt.Fprintf(b, "%sActive mode is off (security.disable_active): no outbound data rule.\n", prefix)
		return
	}
	for _, l := range in.Listeners {
		if l.ActivePort > 0 && l.ActivePort < 1024 {
			fmt.Fprintf(b, "%sActive data comes from port %d only when ferry may bind it (root or\n", prefix, l.ActivePort)
			fmt.Fprintf(b, "%sCAP_NET_BIND_SERVICE); otherwise it falls back to ephemeral ports, which these rules drop.\n", prefix)
			return
		}
	}
}
