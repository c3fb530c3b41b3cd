package ftpproxy

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ferryftp/ferry/internal/sessionbook"
)

// Mode is how the proxy finds the server for a client.
type Mode int

const (
	// ModeReverse forwards every client to Options.Backend, or to the
	// backend Options.UserBackends names for the client's user name.
	ModeReverse Mode = iota
	// ModeExplicit lets the client choose the server by logging in as
	// user@host or user@host:port; only destinations matching
	// Options.AllowDestinations are reached.
	ModeExplicit
	// ModeTransparent forwards each connection to the destination it was
	// addressed to before a firewall redirected it to the proxy (Linux,
	// SO_ORIGINAL_DST).
	ModeTransparent
)

func (m Mode) String() string {
	switch m {
	case ModeReverse:
		return "reverse"
	case ModeExplicit:
		return "explicit"
	case ModeTransparent:
		return "transparent"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "reverse", "explicit" or "transparent".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "", "reverse":
		return ModeReverse, nil
	case "explicit", "forward":
		return ModeExplicit, nil
	case "transparent":
		return ModeTransparent, nil
	}
	return 0, fmt.Errorf("unknown mode %q (want reverse, explicit or transparent)", s)
}

// DataMode is how the proxy opens data connections toward the server.
type DataMode int

const (
	// DataSame mirrors the client: passive when the client asked for
	// PASV/EPSV, active when it sent PORT/EPRT.
	DataSame DataMode = iota
	// DataPassive always uses EPSV/PASV toward the server.
	DataPassive
	// DataActive always uses EPRT/PORT toward the server.
	DataActive
)

// ParseDataMode parses "same", "passive" or "active".
func ParseDataMode(s string) (DataMode, error) {
	switch strings.ToLower(s) {
	case "", "same":
		return DataSame, nil
	case "passive":
		return DataPassive, nil
	case "active":
		return DataActive, nil
	}
	return 0, fmt.Errorf("unknown data mode %q (want same, passive or active)", s)
}

// TLSMode is the TLS setting of one side of the proxy.
type TLSMode int

const (
	// TLSOff: plain FTP on this side.
	TLSOff TLSMode = iota
	// TLSExplicit: AUTH TLS on the control connection (RFC 4217).
	TLSExplicit
	// TLSImplicit: TLS from the first byte (port 990 style).
	TLSImplicit
)

// ParseTLSMode parses "off", "explicit" or "implicit".
func ParseTLSMode(s string) (TLSMode, error) {
	switch strings.ToLower(s) {
	case "", "off", "none":
		return TLSOff, nil
	case "explicit":
		return TLSExplicit, nil
	case "implicit":
		return TLSImplicit, nil
	}
	return 0, fmt.Errorf("unknown TLS mode %q (want off, explicit or implicit)", s)
}

// Options configure a Proxy. The zero value of a field selects the documented
// default.
type Options struct {
	// Mode selects reverse, explicit or transparent operation.
	Mode Mode
	// Backend is the server's "host:port" in reverse mode.
	Backend string
	// UserBackends maps a user name (exact) to the "host:port" of its
	// server in reverse mode; users not listed go to Backend, or are
	// refused with 530 when Backend is empty.
	UserBackends map[string]string
	// AllowDestinations are shell patterns ("*.example.org:21",
	// "192.0.2.*:*") that an explicit-mode destination "host:port" must
	// match. Empty means no destination is allowed: an open FTP proxy is a
	// bounce relay for anyone.
	AllowDestinations []string

	// ServerData chooses active or passive toward the server.
	ServerData DataMode
	// NoEPSV makes the proxy use PASV rather than EPSV toward IPv4 servers
	// (it falls back to PASV by itself when a server refuses EPSV).
	NoEPSV bool
	// UseControlIPForPASV replaces the address in the server's 227 reply by
	// the server's control address instead of refusing a mismatch (for
	// servers behind NAT that announce a private address).
	UseControlIPForPASV bool
	// DataPortMin and DataPortMax bound the ports of the proxy's data
	// listeners, chosen at random (crypto/rand). Zero: any port from 1024
	// to 65535.
	DataPortMin, DataPortMax int
	// ActiveSourcePort is the local port active connections to the client
	// come from: 0 for an ephemeral port, 20 for the classic FTP data port
	// (needs root or CAP_NET_BIND_SERVICE; falls back to ephemeral).
	ActiveSourcePort int

	// MaxLineLength bounds a control line in either direction, CRLF
	// excluded (default 2048).
	MaxLineLength int
	// IdleTimeout closes a session whose client sends nothing for this long
	// while no transfer runs (default 5m).
	IdleTimeout time.Duration
	// ConnectTimeout bounds dialing the server (default 10s).
	ConnectTimeout time.Duration
	// DataTimeout bounds waiting for a data connection and the server's
	// final reply after a transfer (default 1m).
	DataTimeout time.Duration
	// MaxSessions caps concurrent sessions (default 500; -1 no cap).
	MaxSessions int
	// MaxSessionsPerIP caps concurrent sessions per client IP (default 20;
	// -1 no cap).
	MaxSessionsPerIP int
	// MaxUnauthSessions caps the sessions that have not logged in yet
	// (default half of MaxSessions; -1 no cap of its own). When it or
	// MaxSessions is reached, the oldest session that has not logged in is
	// closed with a 421 to make room; logged-in sessions are never closed
	// this way.
	MaxUnauthSessions int
	// MaxUnauthSessionsPerIP caps the sessions of one client address that
	// have not logged in yet (default half of MaxSessionsPerIP; -1 no cap
	// of its own).
	MaxUnauthSessionsPerIP int
	// MaxLoginFailures is how many logins the server refuses (530 to PASS)
	// for one client address within BanWindow before the proxy refuses that
	// address for BanDuration (default 10; -1 never bans). The proxy counts
	// them itself, so that a backend that sees every client as the proxy's
	// address cannot be made to ban everyone.
	MaxLoginFailures int
	// BanWindow is the window failures are counted in (default 10m).
	BanWindow time.Duration
	// BanDuration is how long a banned address is refused (default 15m).
	BanDuration time.Duration

	// ProxyProtocol sends a PROXY protocol header of this version (1 or 2)
	// to the backend before anything else; 0 sends none.
	ProxyProtocol int

	// ClientTLS is the certificate configuration toward clients; required
	// when ClientTLSMode is not TLSOff.
	ClientTLS *tls.Config
	// ClientTLSMode is TLS toward clients.
	ClientTLSMode TLSMode
	// RequireClientTLS refuses USER before AUTH TLS (explicit mode) and
	// data transfers without PROT P.
	RequireClientTLS bool
	// BackendTLS is the TLS client configuration toward servers (roots,
	// ServerName, InsecureSkipVerify). Each session gets its own session
	// cache so that data connections resume the control connection's
	// session. ServerName defaults to the backend's host.
	BackendTLS *tls.Config
	// BackendTLSMode is TLS toward servers.
	BackendTLSMode TLSMode

	// Rules is the command policy, first match wins; commands no rule
	// matches are allowed.
	Rules []Rule

	// Banner is the proxy's own 220 greeting in modes where the server is
	// chosen after USER (default "ferry FTP proxy ready").
	Banner string
	// Logger receives one line per session and per transfer (default
	// slog.Default()).
	Logger *slog.Logger

	// Dial, when set, replaces net.Dialer for control connections to
	// servers (tests).
	Dial func(network, addr string) (net.Conn, error)
}

// Validate reports what New would refuse in o, without changing o.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

// withDefaults returns a copy of o with defaults filled in, or why New
// refuses o (as ftpserver's Options.withDefaults does).
func (o Options) withDefaults() (*Options, error) {
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = 2048
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Minute
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = time.Minute
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = 500
	}
	if o.MaxSessionsPerIP == 0 {
		o.MaxSessionsPerIP = 20
	}
	if o.MaxUnauthSessions == 0 {
		o.MaxUnauthSessions = half(o.MaxSessions)
	}
	if o.MaxUnauthSessionsPerIP == 0 {
		o.MaxUnauthSessionsPerIP = half(o.MaxSessionsPerIP)
	}
	if o.MaxLoginFailures == 0 {
		o.MaxLoginFailures = 10
	}
	if o.BanWindow <= 0 {
		o.BanWindow = 10 * time.Minute
	}
	if o.BanDuration <= 0 {
		o.BanDuration = 15 * time.Minute
	}
	if o.Banner == "" {
		o.Banner = "ferry FTP proxy ready"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.Mode == ModeReverse && o.Backend == "" && len(o.UserBackends) == 0:
		return nil, fmt.Errorf("ftpproxy: reverse mode needs a backend or a user backend table")
	case o.ProxyProtocol < 0 || o.ProxyProtocol > 2:
		return nil, fmt.Errorf("ftpproxy: PROXY protocol version %d (want 0, 1 or 2)", o.ProxyProtocol)
	case o.ClientTLSMode != TLSOff && o.ClientTLS == nil:
		return nil, fmt.Errorf("ftpproxy: client-side TLS needs a certificate")
	case o.RequireClientTLS && o.ClientTLSMode == TLSOff:
		return nil, fmt.Errorf("ftpproxy: require_tls needs client-side TLS")
	case o.DataPortMin < 0 || o.DataPortMax > 65535 || o.DataPortMin > o.DataPortMax ||
		(o.DataPortMin == 0) != (o.DataPortMax == 0):
		return nil, fmt.Errorf("ftpproxy: bad data port range %d-%d", o.DataPortMin, o.DataPortMax)
	case o.DataPortMin != 0 && o.DataPortMin < 1024:
		return nil, fmt.Errorf("ftpproxy: data ports must be >= 1024")
	}
	if o.BackendTLSMode != TLSOff {
		c := &tls.Config{}
		if o.BackendTLS != nil {
			c = o.BackendTLS.Clone()
		}
		if c.MinVersion == 0 {
			c.MinVersion = tls.VersionTLS12
		}
		o.BackendTLS = c
	}
	if o.ClientTLS != nil {
		c := o.ClientTLS.Clone()
		if c.MinVersion == 0 {
			c.MinVersion = tls.VersionTLS12
		}
		o.ClientTLS = c
	}
	for i := range o.Rules {
		if err := o.Rules[i].compile(); err != nil {
			return nil, fmt.Errorf("ftpproxy: rule %d: %w", i+1, err)
		}
	}
	return &o, nil
}

// parseHostPort splits "host:port", or "host" with defPort.
func splitDest(s string, defPort string) (host, port string, err error) {
	if s == "" {
		return "", "", fmt.Errorf("empty destination")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p, nil
	}
	if strings.Count(s, ":") > 1 { // bare IPv6 address
		if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			return a.String(), defPort, nil
		}
	}
	if strings.ContainsAny(s, ":[]") {
		return "", "", fmt.Errorf("bad destination %q", s)
	}
	return s, defPort, nil
}

// half is the default cap of sessions that have not logged in: half the
// matching cap of all sessions (at least one), or no cap (-1) when that has
// none.
func half(n int) int {
	if n < 0 {
		return -1
	}
	return max(n/2, 1)
}

// limits are the caps and ban rules of the proxy's session book.
func (o *Options) limits() sessionbook.Limits {
	return sessionbook.Limits{
		MaxSessions:      o.MaxSessions,
		MaxSessionsPerIP: o.MaxSessionsPerIP,
		MaxUnauth:        o.MaxUnauthSessions,
		MaxUnauthPerIP:   o.MaxUnauthSessionsPerIP,
		MaxLoginFailures: o.MaxLoginFailures,
		BanWindow:        o.BanWindow,
		BanDuration:      o.BanDuration,
	}
}
