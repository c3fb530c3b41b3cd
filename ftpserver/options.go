package ftpserver

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/netip"
	"time"
)

// Options configure a Server. The zero value of every field selects the
// documented default; see docs/configuration.md for the matching config keys.
type Options struct {
	// Addr is the control listen address for ListenAndServe (default ":21").
	Addr string
	// Banner is the text of the 220 greeting (default "ferry FTP server ready").
	Banner string
	// Auth checks logins. Required.
	Auth Authenticator
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// Observer, when set, receives the server's events (metrics, audit,
	// hooks); see Observer.
	Observer *Observer
	// UploadCheck, when set, is asked about each complete upload before
	// its 226 reply; an error removes the file and answers 550 (see
	// uploadcheck.go). It runs on the published file: what an overwriting
	// STOR replaced, or what an APPE appended to, is not restored.
	// UploadCheckTimeout bounds it (default 1m).
	UploadCheck        func(ctx context.Context, u UploadInfo) error
	UploadCheckTimeout time.Duration
	// TransferLog, when set, receives one xferlog(5) line per transfer.
	TransferLog io.Writer

	// MaxLineLength bounds a command line in bytes, CRLF excluded (default 4096).
	MaxLineLength int
	// IdleTimeout closes a session with no command for this long (default 5m).
	// It never fires while a transfer runs.
	IdleTimeout time.Duration
	// LoginTimeout closes a session that has not logged in within it (default 1m).
	LoginTimeout time.Duration
	// DataTimeout bounds waiting for a data connection and each read or write
	// on it that makes no progress (default 1m).
	DataTimeout time.Duration

	// MaxSessions caps concurrent sessions (default 1000; -1 means no cap).
	MaxSessions int
	// MaxSessionsPerIP caps concurrent sessions from one address (default 20; -1 no cap).
	MaxSessionsPerIP int
	// MaxUnauthSessions caps the sessions that have not logged in yet
	// (default half of MaxSessions; -1 no cap of its own). When it or
	// MaxSessions is reached, the oldest session that has not logged in is
	// closed with a 421 to make room; logged-in sessions are never closed
	// this way.
	MaxUnauthSessions int
	// MaxUnauthSessionsPerIP caps the sessions of one address that have not
	// logged in yet (default half of MaxSessionsPerIP; -1 no cap of its
	// own); past it, new connections from that address are refused.
	MaxUnauthSessionsPerIP int
	// MaxSessionsPerUser caps concurrent logged-in sessions of one user
	// (default 0: no cap).
	MaxSessionsPerUser int

	// MaxRates caps the bandwidth of the whole server, all sessions
	// together; SessionRates that of each session. Identity.Rates limits
	// one user's sessions together. A transfer waits on every limit that
	// applies to it; one with none keeps the zero-copy path
	// (sendfile/splice). Zero: unlimited. A reload applies new server and
	// session rates to transfers that start afterwards.
	MaxRates, SessionRates Rates

	// Sendfile chooses how a binary download of a local file is sent:
	// SendfileAuto (the default) uses sendfile(2) unless the client is on
	// this host, SendfileAlways always, SendfileNever never (a read/write
	// copy through a 128 KiB buffer). See SendfileMode.
	Sendfile SendfileMode

	// LoginFailDelay is slept after each failed login. Zero means the
	// default, 1s; a negative value (-1) turns the delay off. (In a ferry
	// config file, login_fail_delay = "0s" turns it off: internal/config
	// passes -1.)
	LoginFailDelay time.Duration
	// MaxLoginFailures is how many failures from one IP within BanWindow ban
	// it (default 10; -1 disables banning).
	MaxLoginFailures int
	// BanWindow is the window failures are counted in (default 10m).
	BanWindow time.Duration
	// BanDuration is how long a banned IP is refused (default 15m).
	BanDuration time.Duration
	// MaxUnknownCommands closes a not-logged-in session after this many
	// unknown or refused commands (default 20; -1 for no limit).
	MaxUnknownCommands int
	// HashCacheEntries bounds the server's HASH cache: digests of files it
	// computed, answered again while the file's size and modification time
	// are unchanged (default 4096 entries, least recently used dropped
	// first; -1 turns the cache off). Uploads written from their first
	// byte are hashed as they arrive and cached when they complete, unless
	// the cache is off. It is read by New; Reload keeps the cache as it is.
	HashCacheEntries int

	// PassivePorts is the inclusive port range for passive data connections
	// (default 1024..65535 with the kernel choosing: zero values).
	PassivePortMin, PassivePortMax int
	// PublicAddr is the IPv4 address announced in PASV replies (default: the
	// control connection's local address).
	PublicAddr netip.Addr
	// PublicAddrByNet overrides PublicAddr for clients in a given network,
	// e.g. announce the LAN address to LAN clients behind the same NAT.
	PublicAddrByNet []NetAddr
	// ActivePort is the local port active data connections are made from.
	// Zero means the control port minus one (20 when listening on 21); -1
	// means an ephemeral port. When binding it is not permitted the server
	// falls back to an ephemeral port and logs that once.
	ActivePort int
	// AllowForeignPORT lets PORT/EPRT name an address other than the
	// client's (FXP; off by default: RFC 2577 bounce protection).
	AllowForeignPORT bool
	// AllowLowPORT lets PORT/EPRT name ports below 1024 (off by default).
	AllowLowPORT bool
	// AllowForeignPassive accepts passive data connections from any address
	// (off by default: only the control peer's address may connect).
	AllowForeignPassive bool
	// DisableActive refuses PORT and EPRT.
	DisableActive bool

	// TLS enables FTPS (RFC 4217) when not nil: AUTH TLS on the control
	// connection and ServeImplicitTLS listeners. It must provide a
	// certificate (Certificates or GetCertificate). The server works on a
	// clone: it enforces TLS 1.2 or newer, sets ALPN to "ftp" (a client that
	// offers ALPN without "ftp" is refused, against ALPACA) and installs its
	// own session-ticket hooks for data-connection session reuse.
	TLS *tls.Config
	// TLSMode says whether TLS is optional (the default when TLS is set) or
	// required before login.
	TLSMode TLSMode
	// RequireProtP refuses transfers whose data connection is not protected
	// (no PROT P) with 521. Default: on when TLSMode is TLSRequired.
	RequireProtP ProtPolicy
	// TLSReuse is the data-connection session-reuse rule (default
	// ReuseRequired: a PROT P data connection must resume a TLS session
	// this server issued to the same user from the same client address,
	// which proves it comes from the same client as the control connection
	// and defeats data-port stealing).
	TLSReuse ReusePolicy
	// AllowCCC lets clients drop TLS on the control connection with CCC
	// after login (RFC 4217 section 12.3; off by default).
	AllowCCC bool
	// RequireSNI, when set, refuses TLS clients whose SNI is not this name.
	RequireSNI string
	// TLSHandshakeTimeout bounds each TLS handshake (default 10s).
	TLSHandshakeTimeout time.Duration

	// ProxyProtocolFrom lists the load balancers allowed to send a PROXY
	// protocol header (v1 or v2). A control connection from one of them must
	// start with a header, whose client address then counts for PORT/EPRT
	// checks, passive-peer checks, bans, caps and logs; a passive data
	// connection from one of them is read for a header too. Connections
	// from other addresses are served as they are. Empty: off.
	ProxyProtocolFrom []netip.Prefix

	// tlsBook records the live TLS sessions of this options generation,
	// for data-connection session reuse across control connections.
	tlsBook *tlsBook

	// ShutdownGrace is how long Shutdown lets running transfers finish
	// before closing them, when its context has no earlier deadline.
	ShutdownGrace time.Duration
}

// NetAddr pairs a client network with the passive address announced to it.
type NetAddr struct {
	Net  netip.Prefix
	Addr netip.Addr
}

// TLSMode is the server-wide TLS policy.
type TLSMode int

// TLS policies.
const (
	TLSOptional TLSMode = iota // clients may use AUTH TLS or stay in plain text
	TLSRequired                // USER and PASS are refused before AUTH TLS
)

// ProtPolicy says whether data connections must be protected.
type ProtPolicy int

// Data-protection policies.
const (
	ProtDefault  ProtPolicy = iota // required when TLSMode is TLSRequired
	ProtRequired                   // PROT P is required for every transfer
	ProtOptional                   // PROT C is allowed even when TLS is required
)

// ReusePolicy says which TLS sessions a protected data connection must
// resume.
type ReusePolicy int

// Session-reuse policies.
const (
	// ReuseRequired refuses data connections that do not resume a session
	// this server issued to the same logged-in user from the same client
	// address (on this control connection or a parallel one: clients such
	// as rclone share one session cache), except from TLS 1.2 clients that
	// offered no session tickets, which cannot resume with Go's TLS stack.
	ReuseRequired ReusePolicy = iota
	// ReuseRelaxed accepts full handshakes (e.g. Python's ftplib).
	ReuseRelaxed
	// ReuseStrict requires every data connection to resume its own control
	// connection's session, refusing ticketless TLS 1.2 clients too.
	ReuseStrict
)
