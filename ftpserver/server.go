// Package ftpserver implements an FTP server: RFC 959 with the extensions of
// RFC 2389 (FEAT, OPTS), RFC 2428 (EPRT, EPSV), RFC 2640 (UTF-8 paths),
// RFC 3659 (SIZE, MDTM, MLST, MLSD, REST STREAM, TVFS), the MFMT draft and
// draft-bryan-ftp-hash (HASH), with the security advice of RFC 2577.
//
// A Server is configured with Options (an Authenticator that yields a
// storage.FS per user) and serves any number of listeners:
//
//	srv, err := ftpserver.New(ftpserver.Options{Auth: auth})
//	err = srv.Serve(listener)
package ftpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/proxyproto"
	"github.com/ferryftp/ferry/internal/sessionbook"
	"github.com/ferryftp/ferry/internal/wire"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("ftpserver: server closed")

// Server is an FTP server. Create it with New; it is safe for concurrent use.
type Server struct {
	opts atomic.Pointer[Options]

	book *sessionbook.Book // accept loop, caps, bans, shutdown tracking

	mu      sync.Mutex
	perUser map[string]int

	xlogMu sync.Mutex

	nextID       atomic.Uint64
	activeWarned atomic.Bool
	transfers    atomic.Int64 // transfers running, for Stats
	pasvOpen     atomic.Int64 // passive listeners open, for Stats
	pasvKept     atomic.Int64 // of those, kept idle for their session's next PASV/EPSV
	blockedSends atomic.Int64 // downloads in a blocking sendfile(2), each holding a thread

	hashes *hashCache // HASH digests of unchanged files; nil when off
	bw     *bandwidth // rate limiters: global, per user, per session
}

// New checks opts and returns a server ready to Serve.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		book:    sessionbook.New(o.limits()),
		perUser: make(map[string]int),
		hashes:  newServerHashCache(o),
		bw:      newBandwidth(o),
	}
	s.opts.Store(o)
	return s, nil
}

func (o Options) withDefaults() (*Options, error) {
	if o.Auth == nil {
		return nil, errors.New("ftpserver: Options.Auth is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	if o.Addr == "" {
		o.Addr = ":21"
	}
	if o.Banner == "" {
		o.Banner = "ferry FTP server ready"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	defInt(&o.MaxLineLength, 4096)
	if o.MaxLineLength < 64 {
		return nil, fmt.Errorf("ftpserver: MaxLineLength %d is too small (minimum 64)", o.MaxLineLength)
	}
	def(&o.IdleTimeout, 5*time.Minute)
	def(&o.LoginTimeout, time.Minute)
	def(&o.DataTimeout, time.Minute)
	def(&o.LoginFailDelay, time.Second)
	def(&o.BanWindow, 10*time.Minute)
	def(&o.BanDuration, 15*time.Minute)
	def(&o.ShutdownGrace, 30*time.Second)
	defInt(&o.MaxSessions, 1000)
	defInt(&o.MaxSessionsPerIP, 20)
	defInt(&o.MaxUnauthSessions, half(o.MaxSessions))
	defInt(&o.MaxUnauthSessionsPerIP, half(o.MaxSessionsPerIP))
	defInt(&o.MaxLoginFailures, 10)
	defInt(&o.MaxUnknownCommands, 20)
	if o.PassivePortMin == 0 && o.PassivePortMax == 0 {
		o.PassivePortMin, o.PassivePortMax = 1024, 65535
	}
	if o.PassivePortMin < 1024 || o.PassivePortMax > 65535 || o.PassivePortMin > o.PassivePortMax {
		return nil, fmt.Errorf("ftpserver: passive port range %d-%d must lie within 1024-65535 with min <= max",
			o.PassivePortMin, o.PassivePortMax)
	}
	if o.PublicAddr.IsValid() && !o.PublicAddr.Unmap().Is4() {
		return nil, fmt.Errorf("ftpserver: PublicAddr %s is not an IPv4 address (PASV can only carry IPv4)", o.PublicAddr)
	}
	for _, na := range o.PublicAddrByNet {
		if !na.Net.IsValid() || !na.Addr.Unmap().Is4() {
			return nil, fmt.Errorf("ftpserver: PublicAddrByNet entry %v/%v needs a network and an IPv4 address", na.Net, na.Addr)
		}
	}
	if err := o.prepareTLS(); err != nil {
		return nil, err
	}
	if o.TLS == nil && (o.TLSMode == TLSRequired || o.RequireProtP == ProtRequired) {
		return nil, errors.New("ftpserver: TLS is required by TLSMode or RequireProtP but Options.TLS is nil")
	}
	if o.ActivePort < -1 || o.ActivePort > 65535 {
		return nil, fmt.Errorf("ftpserver: ActivePort %d out of range", o.ActivePort)
	}
	return &o, nil
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

func (s *Server) options() *Options { return s.opts.Load() }

// ListenAndServe listens on Options.Addr and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	addr := s.options().Addr
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ftpserver: %w", err)
	}
	return s.Serve(l)
}

// Serve accepts control connections on l until Shutdown or a fatal error.
// It closes l when it returns.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeImplicitTLS serves implicit FTPS (conventionally port 990): every
// connection starts with a TLS handshake and data connections are protected
// by default. Options.TLS must be set.
func (s *Server) ServeImplicitTLS(l net.Listener) error {
	if s.options().TLS == nil {
		l.Close()
		return errors.New("ftpserver: ServeImplicitTLS needs Options.TLS")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicit bool) error {
	err := s.book.Serve(l, s.options().Logger, func(c net.Conn) { s.handle(c, implicit) })
	if errors.Is(err, sessionbook.ErrClosing) {
		return ErrServerClosed
	}
	return err
}

// Addr returns the address of a listener being served, or nil.
func (s *Server) Addr() net.Addr { return s.book.Addr() }

// Reload replaces the options (users, limits, addresses) used by new
// sessions and by every new login, without dropping existing sessions.
func (s *Server) Reload(opts Options) error {
	o, err := opts.withDefaults()
	if err != nil {
		observeReload(s.options(), err)
		return err
	}
	s.opts.Store(o)
	s.book.SetLimits(o.limits())
	s.bw.setGlobal(o.MaxRates)
	o.Logger.Info("configuration reloaded")
	observeReload(o, nil)
	return nil
}

// Shutdown stops accepting connections, closes idle sessions, lets running
// transfers finish until ctx is done (or Options.ShutdownGrace passes, when
// ctx has no deadline), then closes every remaining session.
func (s *Server) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.options().ShutdownGrace)
		defer cancel()
	}
	live, idle := s.book.Shutdown()
	sessions := make([]*session, 0, len(live))
	for _, e := range live {
		sessions = append(sessions, e.(*session))
	}

	for _, ss := range sessions {
		ss.shutdown(false)
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	for _, e := range s.book.Sessions() {
		e.(*session).shutdown(true)
	}
	<-idle
	return ctx.Err()
}

// handle runs one control connection.
func (s *Server) handle(c net.Conn, implicit bool) {
	o := s.options()
	id := fmt.Sprintf("%x", s.nextID.Add(1))
	log := o.Logger.With("session", id)
	remote, err := s.clientAddr(c, o)
	if err != nil {
		log.Warn("bad PROXY protocol header; closing", "from", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	ip := remote.Addr().Unmap()

	if until, banned := s.book.Banned(ip); banned {
		log.Warn("refused banned address", "remote", remote.String(), "until", until.Format(time.RFC3339))
		refuse(c, "Too many failed logins from your address; try again later.")
		return
	}
	oobInline(c)
	ss := newSession(s, o, c, remote, id, log)
	ss.implicit = implicit
	entry, err := s.book.Admit(ip, ss)
	if err != nil {
		msg := refusal(err)
		log.Warn("session refused", "remote", remote.String(), "reason", msg)
		refuse(c, msg)
		return
	}
	ss.entry = entry
	defer entry.Release()
	ss.serve()
}

// clientAddr is the client's address: the connection's peer, or for a
// trusted load balancer the source its PROXY protocol header names.
func (s *Server) clientAddr(c net.Conn, o *Options) (netip.AddrPort, error) {
	peer := addrPort(c.RemoteAddr())
	if !trusted(o.ProxyProtocolFrom, peer.Addr()) {
		return peer, nil
	}
	c.SetReadDeadline(time.Now().Add(o.LoginTimeout))
	defer c.SetReadDeadline(time.Time{})
	h, err := proxyproto.Read(c)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if h.Local {
		return peer, nil // a health check from the balancer itself
	}
	return h.Src, nil
}

// trusted reports whether ip is in one of the prefixes.
func trusted(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func refuse(c net.Conn, msg string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Write(wire.AppendReply(nil, ftp.CodeNotAvailable, msg))
	c.Close()
}

// refusal is the 421 text for a session the book refuses.
func refusal(err error) string {
	switch {
	case errors.Is(err, sessionbook.ErrClosing):
		return "Server shutting down."
	case errors.Is(err, sessionbook.ErrBanned):
		return "Too many failed logins from your address; try again later."
	case errors.Is(err, sessionbook.ErrAddrFull):
		return "Too many connections from your address."
	default:
		return "Too many users; try again later."
	}
}

// Evict closes a session that has not logged in, to make room for a new
// one when the server is full.
func (s *session) Evict() {
	s.log.Warn("closing the oldest session that has not logged in, to make room", "remote", s.remote.String())
	s.reply(ftp.CodeNotAvailable, "Server busy; closing connections that have not logged in.")
	s.close()
}

// limits are the caps and ban rules the session book enforces.
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

// acquireUser counts a login against the per-user cap; release with releaseUser.
func (s *Server) acquireUser(user string, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && s.perUser[user] >= limit {
		return false
	}
	s.perUser[user]++
	return true
}

func (s *Server) releaseUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perUser[user]--; s.perUser[user] <= 0 {
		delete(s.perUser, user)
	}
}

// addrPort converts a net.Addr from a TCP socket into a netip.AddrPort.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
