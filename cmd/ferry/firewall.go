package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/ferryftp/ferry/ftpproxy"
	"github.com/ferryftp/ferry/internal/config"
	"github.com/ferryftp/ferry/internal/firewall"
)

const firewallUsage = `Usage: ferry firewall [flags]

Prints packet-filter rules that let ferry's FTP sessions through and nothing
else: the control port(s), the passive range and the active data
connections, with state tracking. The ports come from the same settings
ferry serve (or, with --proxy, ferry proxy) runs with: --config FILE, or
the quick-mode flags. See docs/firewall.md.

  ferry firewall --config ferry.toml --format nft > ferry.nft
  ferry firewall --listen :21 --passive-ports 30000-30999 --format iptables
  ferry firewall --proxy --config proxy.toml --format pf

Formats: nft (helper-free), nft-helper (ftp conntrack helper), iptables
(iptables-restore), ipf (IPFilter ipf.conf), ipnat (IPFilter ipnat.conf for
a NAT gateway), pf (OpenBSD pf.conf).

Flags:
`

type firewallFlags struct {
	config, format, listen, pasv, public, implicit string
	proxy                                          bool
	iface, natTarget                               string
	backend, mode, allowDest, serverData           string
}

func firewallMain(args []string, stdout, stderr io.Writer) error {
	var f firewallFlags
	fs := flag.NewFlagSet("ferry firewall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, firewallUsage); printFlags(stderr, fs) }
	fs.StringVar(&f.config, "config", "", "ferry serve (or, with --proxy, ferry proxy) TOML `file`")
	fs.StringVar(&f.format, "format", "nft", "output `format`: "+strings.Join(firewall.Formats, ", "))
	fs.StringVar(&f.listen, "listen", "", "control `address` (as for serve/proxy; default \":21\")")
	fs.StringVar(&f.pasv, "passive-ports", "", "quick mode: passive port `range` such as 30000-30999 (proxy: --data-ports)")
	fs.StringVar(&f.pasv, "data-ports", "", "proxy quick mode: data port `range` (same as --passive-ports)")
	fs.StringVar(&f.public, "public-addr", "", "quick mode: IPv4 `address` announced in PASV replies (behind NAT)")
	fs.StringVar(&f.implicit, "implicit-listen", "", "quick mode: implicit FTPS `address` (e.g. :990)")
	fs.StringVar(&f.iface, "interface", "", "external interface `name` for ipf, ipnat and pf (default: a placeholder)")
	fs.StringVar(&f.natTarget, "nat-target", "", "the server's own `address` for NAT rules (default: the listen address)")
	fs.BoolVar(&f.proxy, "proxy", false, "rules for ferry proxy instead of ferry serve")
	fs.StringVar(&f.backend, "backend", "", "proxy: server `host:port` (reverse mode)")
	fs.StringVar(&f.mode, "mode", "", "proxy: reverse, explicit or transparent")
	fs.StringVar(&f.allowDest, "allow-dest", "", "proxy: comma-separated host:port `patterns` (explicit mode)")
	fs.StringVar(&f.serverData, "server-data", "", "proxy: data mode toward the server: same, passive or active")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"ferry firewall takes no arguments"}
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var in firewall.Input
	if f.proxy {
		in, err = proxyFirewallInput(f, set)
	} else {
		in, err = serverFirewallInput(f, set)
	}
	if err != nil {
		return err
	}
	in.Interface = f.iface
	if f.natTarget != "" {
		a, err := netip.ParseAddr(f.natTarget)
		if err != nil {
			return usageError{"--nat-target: " + err.Error()}
		}
		in.NATTarget = a
	}
	out, warn, err := firewall.Generate(in, f.format)
	if err != nil {
		return usageError{strings.TrimPrefix(err.Error(), "firewall: ")}
	}
	for _, w := range warn {
		fmt.Fprintln(stderr, "ferry firewall: warning:", w)
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// splitListen parses a listen address into the address (zero for a
// wildcard) and the port.
func splitListen(s string) (netip.Addr, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q is not host:port (e.g. \":21\")", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return netip.Addr{}, 0, fmt.Errorf("%q: port %q is not a number in 1..65535", s, port)
	}
	var a netip.Addr
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.Addr{}, 0, fmt.Errorf("%q: the firewall rules need an IP address, not %q", s, host)
		}
		a = a.Unmap()
	}
	return a, n, nil
}

// activeSource mirrors ftpserver's dial: 0 means the control port minus
// one, -1 an ephemeral port (0 in firewall.Listener).
func activeSource(activePort, controlPort int) int {
	switch {
	case activePort == 0:
		return controlPort - 1
	case activePort < 0:
		return 0
	}
	return activePort
}

// serverFirewallInput maps ferry serve's settings to firewall.Input: the
// config file (loaded and validated as serve does) or the quick-mode flags.
func serverFirewallInput(f firewallFlags, set map[string]bool) (firewall.Input, error) {
	sp, err := serverPortsFrom(f, set)
	if err != nil {
		return firewall.Input{}, err
	}
	return sp.input()
}

// serverPorts are the settings of ferry serve that its firewall rules
// derive from.
type serverPorts struct {
	listen, implicit             string
	pasvMin, pasvMax, activePort int
	public                       netip.Addr
	byNet                        []firewall.NetAddr
	allowLow, disableActive      bool
	config                       string // the file they come from; "" for quick-mode flags
}

// serverPortsFrom reads the settings from the configuration file, or from
// the quick-mode flags with ferry serve's defaults (active data from
// control port - 1).
func serverPortsFrom(f firewallFlags, set map[string]bool) (serverPorts, error) {
	sp := serverPorts{listen: ":21", implicit: f.implicit}
	if f.config != "" {
		for _, q := range []string{"passive-ports", "data-ports", "public-addr", "implicit-listen", "backend", "mode", "allow-dest", "server-data"} {
			if set[q] {
				return sp, usageError{"--config cannot be combined with --" + q + "; put the setting in the file"}
			}
		}
		c, err := config.Load(f.config)
		if err != nil {
			return sp, err
		}
		if err := c.Validate(); err != nil {
			return sp, fmt.Errorf("%s: %w", f.config, err)
		}
		sp.config = f.config
		if c.Listen != "" {
			sp.listen = c.Listen
		}
		sp.implicit = c.TLS.ImplicitListen
		sp.pasvMin, sp.pasvMax, sp.activePort = c.Passive.PortMin, c.Passive.PortMax, c.Active.Port
		sp.disableActive, sp.allowLow = c.Security.DisableActive, c.Security.AllowLowPort
		if c.Passive.PublicAddr != "" {
			sp.public, _ = netip.ParseAddr(c.Passive.PublicAddr) // checked by Validate
		}
		for _, n := range c.Passive.PublicAddrByNet {
			p, _ := netip.ParsePrefix(n.Net)
			a, _ := netip.ParseAddr(n.Addr)
			sp.byNet = append(sp.byNet, firewall.NetAddr{Net: p.Masked(), Addr: a})
		}
	} else {
		if f.pasv != "" {
			if _, err := fmt.Sscanf(f.pasv, "%d-%d", &sp.pasvMin, &sp.pasvMax); err != nil || sp.pasvMin < 1024 || sp.pasvMax > 65535 || sp.pasvMin > sp.pasvMax {
				return sp, usageError{"--passive-ports wants MIN-MAX within 1024-65535 such as 30000-30100"}
			}
		}
		if f.public != "" {
			a, err := parseAddr(f.public)
			if err != nil {
				return sp, usageError{"--public-addr: " + err.Error()}
			}
			sp.public = a
		}
	}
	if f.listen != "" {
		sp.listen = f.listen
	}
	return sp, nil
}

// name is how the output's comments name a setting: its configuration
// key, or its flag in quick mode.
func (sp serverPorts) name(key, flagName string) string {
	if sp.config != "" {
		return key
	}
	return "--" + flagName
}

// input builds the firewall input, with a comment line for each setting
// that a rule derives from.
func (sp serverPorts) input() (firewall.Input, error) {
	in := firewall.Input{DisableActive: sp.disableActive, PublicAddrByNet: sp.byNet}
	if sp.config != "" {
		in.Settings = append(in.Settings, "config file "+sp.config)
	}
	addListener := func(key, flagName, addr, what string) error {
		a, port, err := splitListen(addr)
		if err != nil {
			return usageError{sp.name(key, flagName) + ": " + err.Error()}
		}
		in.Listeners = append(in.Listeners, firewall.Listener{Addr: a, Port: port, ActivePort: activeSource(sp.activePort, port),
			Setting: fmt.Sprintf("%s = %q", sp.name(key, flagName), addr)})
		in.Settings = append(in.Settings, fmt.Sprintf("%s = %q: %s %d", sp.name(key, flagName), addr, what, port))
		return nil
	}
	if err := addListener("listen", "listen", sp.listen, "control port"); err != nil {
		return in, err
	}
	if sp.implicit != "" {
		if err := addListener("tls.implicit_listen", "implicit-listen", sp.implicit, "implicit FTPS control port"); err != nil {
			return in, err
		}
	}
	if sp.pasvMin == 0 && sp.pasvMax == 0 {
		in.Settings = append(in.Settings, sp.name("passive.port_min/port_max", "passive-ports")+" unset: passive ports 1024-65535")
	} else {
		in.Settings = append(in.Settings, fmt.Sprintf("%s = %d-%d: passive data ports", sp.name("passive.port_min/port_max", "passive-ports"), sp.pasvMin, sp.pasvMax))
	}
	in.PassiveMin, in.PassiveMax = sp.pasvMin, sp.pasvMax
	in.Settings = append(in.Settings, sp.activeSetting(in.Listeners))
	in.ClientPortMin = 1024
	if sp.allowLow {
		in.ClientPortMin = 1
		in.Settings = append(in.Settings, "security.allow_low_port = true: active data to any client port")
	} else if !in.DisableActive {
		in.Settings = append(in.Settings, "active data only to client ports >= 1024 (RFC 2577; security.allow_low_port = false)")
	}
	if sp.public.IsValid() {
		in.PublicAddr = sp.public
		in.Settings = append(in.Settings, fmt.Sprintf("%s = %s: announced in PASV replies (NAT)", sp.name("passive.public_addr", "public-addr"), sp.public))
	}
	for _, n := range in.PublicAddrByNet {
		in.Settings = append(in.Settings, fmt.Sprintf("passive.public_addr_by_net: %s announced to %s", n.Addr, n.Net))
	}
	in.NATTarget = in.Listeners[0].Addr
	return in, nil
}

// activeSetting describes where active data connections come from.
func (sp serverPorts) activeSetting(listeners []firewall.Listener) string {
	key := sp.name("active.port", "active-port")
	switch {
	case sp.disableActive:
		return sp.name("security.disable_active", "disable-active") + " = true: no active data connections"
	case sp.activePort == 0:
		var ps []string
		for _, l := range listeners {
			ps = append(ps, strconv.Itoa(l.ActivePort))
		}
		return fmt.Sprintf("%s = 0: active data from control port - 1 (%s)", key, strings.Join(ps, ", "))
	case sp.activePort < 0:
		return key + " = -1: active data from ephemeral ports"
	default:
		return fmt.Sprintf("%s = %d: active data from port %d", key, sp.activePort, sp.activePort)
	}
}

// proxyFirewallInput maps ferry proxy's settings (config file, then flags
// overriding it, as proxyMain does) to firewall.Input.
func proxyFirewallInput(f firewallFlags, set map[string]bool) (firewall.Input, error) {
	in := firewall.Input{Proxy: true, ClientPortMin: 1024}
	for _, q := range []string{"public-addr", "implicit-listen"} {
		if set[q] {
			return in, usageError{"--" + q + " is a ferry serve setting; not a ferry proxy one"}
		}
	}
	var opts ftpproxy.Options
	var listens []string
	if f.config != "" {
		c, err := config.LoadProxy(f.config)
		if err != nil {
			return in, err
		}
		if opts, err = c.ProxyOptions(); err != nil {
			return in, fmt.Errorf("%s: %w", f.config, err)
		}
		listens = c.Listen
		in.Settings = append(in.Settings, "config file "+f.config)
	}
	routing := proxyRouting{mode: f.mode, backend: f.backend, allowDest: f.allowDest, serverData: f.serverData, dataPorts: f.pasv}
	if err := routing.apply(&opts, set); err != nil {
		return in, err
	}
	if f.listen != "" {
		listens = []string{f.listen}
	}
	if len(listens) == 0 {
		listens = []string{":21"}
	}
	active := opts.ActiveSourcePort
	for _, l := range listens {
		a, port, err := splitListen(l)
		if err != nil {
			return in, usageError{"listen: " + err.Error()}
		}
		in.Listeners = append(in.Listeners, firewall.Listener{Addr: a, Port: port, ActivePort: active, Setting: fmt.Sprintf("listen = %q", l)})
		in.Settings = append(in.Settings, fmt.Sprintf("listen = %q: control port %d", l, port))
	}
	in.PassiveMin, in.PassiveMax = opts.DataPortMin, opts.DataPortMax
	if in.PassiveMin == 0 {
		in.Settings = append(in.Settings, "data_ports unset: data listeners on ports 1024-65535")
	} else {
		in.Settings = append(in.Settings, fmt.Sprintf("data_ports = \"%d-%d\": data listeners (client side and server side)", in.PassiveMin, in.PassiveMax))
	}
	if active == 0 {
		in.Settings = append(in.Settings, "active_source_port = 0: active data to clients from ephemeral ports")
	} else {
		in.Settings = append(in.Settings, fmt.Sprintf("active_source_port = %d: active data to clients from port %d", active, active))
	}
	in.Settings = append(in.Settings, "mode = "+opts.Mode.String())
	if err := proxyBackends(&in, opts); err != nil {
		return in, err
	}
	in.ServerPassive = opts.ServerData != ftpproxy.DataActive
	in.ServerActive = opts.ServerData != ftpproxy.DataPassive
	in.Settings = append(in.Settings, "server_data = "+[]string{"same", "passive", "active"}[opts.ServerData])
	return in, nil
}

// proxyBackends adds the servers the proxy connects to: its backends in
// reverse mode, the allowed destinations in explicit mode, any server's
// port 21 in transparent mode.
func proxyBackends(in *firewall.Input, opts ftpproxy.Options) error {
	switch opts.Mode {
	case ftpproxy.ModeReverse:
		if opts.Backend == "" && len(opts.UserBackends) == 0 {
			return usageError{"--backend is required in reverse mode"}
		}
		var hosts []string
		if opts.Backend != "" {
			hosts = append(hosts, opts.Backend)
		}
		var users []string
		for u := range opts.UserBackends {
			users = append(users, u)
		}
		sort.Strings(users)
		for _, u := range users {
			hosts = append(hosts, opts.UserBackends[u])
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			if seen[h] {
				continue
			}
			seen[h] = true
			be, err := parseBackend(h, false)
			if err != nil {
				return usageError{err.Error()}
			}
			in.Backends = append(in.Backends, be)
			in.Settings = append(in.Settings, fmt.Sprintf("backend %q", h))
		}
	case ftpproxy.ModeExplicit:
		for _, d := range opts.AllowDestinations {
			be, err := parseBackend(d, true)
			if err != nil {
				return usageError{err.Error()}
			}
			in.Backends = append(in.Backends, be)
			in.Settings = append(in.Settings, fmt.Sprintf("allow_destinations %q", d))
		}
	case ftpproxy.ModeTransparent:
		in.Backends = []firewall.Backend{{Port: 21}}
		in.Settings = append(in.Settings, "transparent: intercepted connections to port 21 of any server")
	}
	return nil
}

// parseBackend turns "host:port" (or, for patterns, "*.example.org:*")
// into a firewall.Backend; a wildcard host or port becomes "any".
func parseBackend(s string, pattern bool) (firewall.Backend, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return firewall.Backend{}, fmt.Errorf("backend %q is not host:port", s)
	}
	var be firewall.Backend
	switch {
	case !pattern || !strings.ContainsAny(host, "*?["):
		be.Host = host
	case strings.HasSuffix(host, ".*") && !strings.ContainsAny(strings.TrimSuffix(host, ".*"), "*?["):
		// "198.51.100.*" is the network 198.51.100.0/24.
		parts := strings.Split(strings.TrimSuffix(host, ".*"), ".")
		if len(parts) <= 3 {
			for len(parts) < 4 {
				parts = append(parts, "0")
			}
			if a, err := netip.ParseAddr(strings.Join(parts, ".")); err == nil && a.Is4() {
				be.Host = netip.PrefixFrom(a, 8*(len(strings.Split(host, "."))-1)).String()
			}
		}
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		be.Port = n
	} else if !pattern {
		return firewall.Backend{}, fmt.Errorf("backend %q: bad port", s)
	}
	return be, nil
}
