package ftpproxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/proxyproto"
	"github.com/ferryftp/ferry/internal/sessionbook"
	"github.com/ferryftp/ferry/internal/wire"
)

type cmdKind uint8

const (
	kOther cmdKind = iota
	kUser
	kPass
	kData // PASV/EPSV/PORT/EPRT from the client
	kTransfer
	kFeat
	kQuit
	kConcurrent // STAT or NOOP sent while a transfer runs
)

// pending is a command sent to the server whose final reply has not come.
type pending struct {
	verb  string // the client's verb
	kind  cmdKind
	sent  string // the verb sent to the server for kData
	setup *dataSetup
	xfer  *transfer
}

// session is one client control connection and its server connection.
type session struct {
	p   *Proxy
	id  uint64
	log *slog.Logger

	rawClient   net.Conn
	client      net.Conn // rawClient, or a *tls.Conn on it once TLS is up
	cr          *wire.Reader
	clientAddr  netip.AddrPort
	clientLocal netip.AddrPort

	rawServer   net.Conn
	server      net.Conn
	sr          *wire.Reader
	serverAddr  netip.AddrPort
	serverLocal netip.AddrPort
	serverHost  string // for SNI toward TLS backends
	backendTLS  *tls.Config

	wmu sync.Mutex // serialises writes to the client
	smu sync.Mutex // serialises writes to the server with queueing

	mu         sync.Mutex
	pending    []*pending
	user       string
	loggedIn   bool
	clientTLS  bool
	clientProt bool
	epsvAll    bool
	noEPSV     bool
	setup      *dataSetup
	xfer       *transfer
	kept       *net.TCPListener // client-side passive listener for the next PASV/EPSV
	closed     bool
	serverDone chan struct{}

	entry *sessionbook.Entry // this session in the proxy's book

	start     time.Time
	up, down  atomic.Int64
	transfers atomic.Int64
	closeOnce sync.Once
}

func newSession(p *Proxy, c net.Conn, id uint64) *session {
	s := &session{
		p:           p,
		id:          id,
		client:      c,
		rawClient:   c,
		clientAddr:  addrPortOf(c.RemoteAddr()),
		clientLocal: addrPortOf(c.LocalAddr()),
		start:       time.Now(),
	}
	s.log = p.opts.Logger.With("session", id)
	s.cr = wire.NewReader(&crlfReader{r: c}, p.opts.MaxLineLength)
	return s
}

// reply writes a reply to the client.
func (s *session) reply(code int, msg string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.client.SetWriteDeadline(time.Now().Add(s.p.opts.DataTimeout))
	return wire.WriteReply(s.client, code, msg)
}

func (s *session) close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		setup, xfer := s.setup, s.xfer
		s.setup = nil
		s.mu.Unlock()
		if setup != nil {
			setup.close()
		}
		if xfer != nil {
			xfer.cancel()
		}
		s.closeKept()
		s.rawClient.Close()
		s.mu.Lock()
		if s.rawServer != nil {
			s.rawServer.Close()
		}
		s.mu.Unlock()
	})
}

// Evict closes a session that has not logged in, to make room for a new
// one when the proxy is full.
func (s *session) Evict() {
	s.log.Warn("closing the oldest session that has not logged in, to make room", "client", s.clientAddr.String())
	s.reply(ftp.CodeNotAvailable, "Proxy busy; closing connections that have not logged in.")
	s.close()
}

func (s *session) closeIfIdle() {
	s.mu.Lock()
	idle := len(s.pending) == 0 && s.xfer == nil
	s.mu.Unlock()
	if idle {
		s.reply(ftp.CodeNotAvailable, "Proxy shutting down, closing control connection.")
		s.close()
	}
}

func (s *session) run() {
	defer func() {
		s.close()
		if s.serverDone != nil {
			<-s.serverDone
		}
		s.mu.Lock()
		user, loggedIn := s.user, s.loggedIn
		s.mu.Unlock()
		s.log.Info("session",
			"client", s.clientAddr.String(), "proxy", s.clientLocal.String(),
			"server", s.serverAddr.String(), "user", user, "logged_in", loggedIn,
			"transfers", s.transfers.Load(), "bytes_up", s.up.Load(), "bytes_down", s.down.Load(),
			"duration", time.Since(s.start).Round(time.Millisecond).String())
	}()
	o := &s.p.opts
	if o.ClientTLSMode == TLSImplicit {
		tc := tls.Server(s.client, s.clientTLSConfig())
		tc.SetDeadline(time.Now().Add(o.ConnectTimeout))
		if err := tc.Handshake(); err != nil {
			s.log.Info("client TLS handshake failed", "client", s.clientAddr.String(), "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
		s.wmu.Lock() // Evict may write a reply from another goroutine
		s.client = tc
		s.wmu.Unlock()
		s.cr = wire.NewReader(&crlfReader{r: tc}, o.MaxLineLength)
		s.clientTLS = true
	}
	switch {
	case o.Mode == ModeTransparent:
		dst, err := originalDst(s.rawClient)
		if err != nil || dst == s.clientLocal {
			s.log.Warn("transparent: no redirected destination", "client", s.clientAddr.String(), "err", err)
			s.reply(ftp.CodeNotAvailable, "Not a redirected connection.")
			return
		}
		if !s.connectAndGreet(dst.String()) {
			return
		}
	case o.Mode == ModeReverse && len(o.UserBackends) == 0:
		if !s.connectAndGreet(o.Backend) {
			return
		}
	default:
		if s.reply(ftp.CodeServiceReady, o.Banner) != nil || !s.preLogin() {
			return
		}
	}
	s.clientLoop()
}

func (s *session) clientTLSConfig() *tls.Config {
	c := s.p.opts.ClientTLS
	if len(c.NextProtos) == 0 {
		c = c.Clone()
		c.NextProtos = []string{"ftp"}
	}
	return c
}

// connectAndGreet dials the server for a session whose server is known at
// once and relays its greeting.
func (s *session) connectAndGreet(addr string) bool {
	greet, err := s.connect(addr)
	if err != nil {
		s.connectFailed(addr, err)
		return false
	}
	s.startServerLoop()
	return s.reply(greet.Code, greet.Message()) == nil
}

// connect dials addr, sends the PROXY header, reads the greeting and sets up
// TLS toward the server.
func (s *session) connect(addr string) (ftp.Reply, error) {
	o := &s.p.opts
	host, _, _ := net.SplitHostPort(addr)
	s.serverHost = host
	var c net.Conn
	var err error
	if o.Dial != nil {
		c, err = o.Dial("tcp", addr)
	} else {
		d := net.Dialer{Timeout: o.ConnectTimeout}
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return ftp.Reply{}, err
	}
	s.mu.Lock()
	s.server, s.rawServer = c, c
	closed := s.closed
	s.mu.Unlock()
	if closed {
		c.Close()
		return ftp.Reply{}, net.ErrClosed
	}
	s.serverAddr = addrPortOf(c.RemoteAddr())
	s.serverLocal = addrPortOf(c.LocalAddr())
	c.SetDeadline(time.Now().Add(o.ConnectTimeout))
	if o.ProxyProtocol != 0 {
		if _, err := c.Write(proxyproto.Append(nil, o.ProxyProtocol, s.clientAddr, s.clientLocal)); err != nil {
			return ftp.Reply{}, err
		}
	}
	if o.BackendTLSMode == TLSImplicit {
		tc := tls.Client(c, s.backendTLSConfig())
		if err := tc.Handshake(); err != nil {
			return ftp.Reply{}, err
		}
		s.server = tc
	}
	s.sr = wire.NewReader(&crlfReader{r: s.server}, o.MaxLineLength)
	greet, err := s.sr.ReadReply()
	for err == nil && greet.Code == ftp.CodeServiceReadyIn {
		greet, err = s.sr.ReadReply()
	}
	if err != nil {
		return ftp.Reply{}, err
	}
	if err := checkReply(greet); err != nil {
		return ftp.Reply{}, err
	}
	if greet.Code != ftp.CodeServiceReady {
		return ftp.Reply{}, &refusedError{greet}
	}
	if o.BackendTLSMode == TLSExplicit {
		if err := s.serverCmdSync("AUTH TLS", ftp.CodeAuthOK); err != nil {
			return ftp.Reply{}, err
		}
		tc := tls.Client(s.server, s.backendTLSConfig())
		if err := tc.Handshake(); err != nil {
			return ftp.Reply{}, err
		}
		s.server = tc
		s.sr.Reset(&crlfReader{r: tc})
		if err := s.serverCmdSync("PBSZ 0", ftp.CodeOK); err != nil {
			return ftp.Reply{}, err
		}
		if err := s.serverCmdSync("PROT P", ftp.CodeOK); err != nil {
			return ftp.Reply{}, err
		}
	}
	s.server.SetDeadline(time.Time{})
	return greet, nil
}

// refusedError is a server's refusal of a session at its greeting (a 421
// for a full server or a banned address, for instance).
type refusedError struct{ rep ftp.Reply }

func (e *refusedError) Error() string {
	return fmt.Sprintf("server refused the session: %d %s", e.rep.Code, e.rep.Message())
}

// connectFailed tells the client why its server cannot serve it: the
// server's own refusal, relayed, or that it cannot be reached.
func (s *session) connectFailed(addr string, err error) {
	var re *refusedError
	if errors.As(err, &re) {
		s.log.Warn("server refused the session", "client", s.clientAddr.String(), "server", addr,
			"code", re.rep.Code, "reply", re.rep.Message())
		code := re.rep.Code
		if !ftp.IsNegative(code) {
			code = ftp.CodeNotAvailable
		}
		s.reply(code, re.rep.Message())
		return
	}
	s.log.Warn("server unreachable", "client", s.clientAddr.String(), "server", addr, "err", err)
	s.reply(ftp.CodeNotAvailable, "Service not available: cannot reach the server.")
}

// backendTLSConfig is the session's TLS client configuration toward the
// server. Each session has its own session cache, so that its data
// connections resume its own control connection's TLS session (servers
// such as vsftpd with require_ssl_reuse, and ferry, refuse another
// session's ticket).
func (s *session) backendTLSConfig() *tls.Config {
	if s.backendTLS != nil {
		return s.backendTLS
	}
	c := s.p.opts.BackendTLS.Clone()
	if c.ServerName == "" {
		c.ServerName = s.serverHost
	}
	if len(c.NextProtos) == 0 {
		c.NextProtos = []string{"ftp"}
	}
	c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	s.backendTLS = c
	return c
}

// serverCmdSync sends a command of the proxy's own during connection set-up
// and expects the given reply code.
func (s *session) serverCmdSync(line string, want int) error {
	if _, err := io.WriteString(s.server, line+"\r\n"); err != nil {
		return err
	}
	r, err := s.sr.ReadReply()
	if err != nil {
		return err
	}
	if r.Code != want {
		return fmt.Errorf("%s: server answered %d", line, r.Code)
	}
	return nil
}

// checkReply refuses reply text with NUL or CR.
func checkReply(r ftp.Reply) error {
	for _, l := range r.Lines {
		if bad := checkLine(l); bad != "" {
			return fmt.Errorf("%w: %s", ftp.ErrBadReply, bad)
		}
	}
	return nil
}

// readClient reads one command line with the idle timeout. ok is false when
// the session must end.
func (s *session) readClient() (cmd ftp.Command, ok bool) {
	o := &s.p.opts
	for {
		s.client.SetReadDeadline(time.Now().Add(o.IdleTimeout))
		line, err := s.cr.ReadLine()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, wire.ErrLineTooLong):
				s.log.Warn("client line too long", "client", s.clientAddr.String())
				s.reply(ftp.CodeSyntaxError, "Line too long.")
				continue
			case errors.Is(err, errBareLF):
				s.log.Warn("client line ends with bare LF", "client", s.clientAddr.String())
				s.reply(ftp.CodeSyntaxError, "Lines must end with CRLF.")
				return cmd, false
			case errors.As(err, &ne) && ne.Timeout():
				s.mu.Lock()
				busy := s.xfer != nil
				s.mu.Unlock()
				if busy {
					continue
				}
				s.reply(ftp.CodeNotAvailable, "Idle timeout, closing control connection.")
			}
			return cmd, false
		}
		if bad := checkLine(line); bad != "" {
			s.log.Warn("client line refused", "client", s.clientAddr.String(), "reason", bad)
			s.reply(ftp.CodeSyntaxError, "Syntax error: control characters in command.")
			continue
		}
		cmd, err := ftp.ParseCommand(line)
		if err != nil {
			var fe *ftp.Error
			if errors.As(err, &fe) {
				s.reply(fe.Code, fe.Message)
			}
			continue
		}
		s.mu.Lock()
		user := s.user
		s.mu.Unlock()
		// USER is checked with the name it sets, once routed.
		if cmd.Verb != "USER" && !allowed(o.Rules, cmd.Verb, cmd.Arg, user, s.clientAddr.Addr()) {
			s.log.Info("command denied by policy", "client", s.clientAddr.String(), "user", user, "command", cmd.String())
			s.p.stats.refused.Add(1)
			s.reply(ftp.CodeFileUnavailable, "Command not allowed by proxy policy.")
			continue
		}
		return cmd, true
	}
}

// preLogin serves the commands before USER when the server depends on it.
func (s *session) preLogin() bool {
	o := &s.p.opts
	for {
		cmd, ok := s.readClient()
		if !ok {
			return false
		}
		switch cmd.Verb {
		case "AUTH", "PBSZ", "PROT", "CCC":
			if !s.handleTLSCommand(cmd) {
				return false
			}
		case "FEAT":
			s.reply(ftp.CodeSystemStatus, "Features:\n"+strings.Join(s.proxyFeatures(), "\n")+"\nEnd")
		case "NOOP":
			s.reply(ftp.CodeOK, "NOOP ok.")
		case "SYST":
			s.reply(ftp.CodeSystemType, "UNIX Type: L8")
		case "OPTS":
			if strings.EqualFold(strings.TrimSpace(cmd.Arg), "UTF8 ON") {
				s.reply(ftp.CodeOK, "UTF8 ok.")
			} else {
				s.reply(ftp.CodeArgSyntax, "Option not understood.")
			}
		case "QUIT":
			s.reply(ftp.CodeClosing, "Goodbye.")
			return false
		case "USER":
			if o.RequireClientTLS && !s.clientTLS {
				s.reply(ftp.CodeNotLoggedIn, "Use AUTH TLS first.")
				continue
			}
			user, addr, err := s.route(cmd.Arg)
			if err != nil {
				s.log.Info("login refused", "client", s.clientAddr.String(), "user", cmd.Arg, "err", err)
				s.reply(ftp.CodeNotLoggedIn, "Login refused by proxy: "+err.Error()+".")
				continue
			}
			if !allowed(o.Rules, "USER", user, user, s.clientAddr.Addr()) {
				s.log.Info("user denied by policy", "client", s.clientAddr.String(), "user", user)
				s.p.stats.refused.Add(1)
				s.reply(ftp.CodeNotLoggedIn, "Login not allowed by proxy policy.")
				continue
			}
			if _, err := s.connect(addr); err != nil {
				s.connectFailed(addr, err)
				return false
			}
			s.mu.Lock()
			s.user = user
			s.mu.Unlock()
			s.startServerLoop()
			s.send(&pending{verb: "USER", kind: kUser}, "USER "+user)
			return true
		default:
			s.reply(ftp.CodeNotLoggedIn, "Please login with USER first.")
		}
	}
}

// route picks the server for a USER argument.
func (s *session) route(arg string) (user, addr string, err error) {
	o := &s.p.opts
	if o.Mode == ModeExplicit {
		i := strings.LastIndexByte(arg, '@')
		if i <= 0 || i == len(arg)-1 {
			return "", "", errors.New("log in as user@host or user@host:port")
		}
		user = arg[:i]
		host, port, err := splitDest(arg[i+1:], "21")
		if err != nil {
			return "", "", err
		}
		addr = net.JoinHostPort(host, port)
		for _, pat := range o.AllowDestinations {
			if ftp.MatchGlob(strings.ToLower(pat), strings.ToLower(addr)) {
				return user, addr, nil
			}
		}
		return "", "", fmt.Errorf("destination %s not allowed", addr)
	}
	if b, ok := o.UserBackends[arg]; ok {
		return arg, b, nil
	}
	if o.Backend == "" {
		return "", "", errors.New("unknown user")
	}
	return arg, o.Backend, nil
}

func (s *session) proxyFeatures() []string {
	f := []string{"EPRT", "EPSV"}
	if s.p.opts.ClientTLSMode == TLSExplicit {
		f = append(f, "AUTH TLS", "PBSZ", "PROT")
	}
	return f
}

// send queues p and writes line to the server, atomically, so the queue
// order is the order on the wire.
func (s *session) send(p *pending, line string) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.sendLocked(p, line)
}

func (s *session) sendLocked(p *pending, line string) error {
	s.mu.Lock()
	s.pending = append(s.pending, p)
	s.mu.Unlock()
	s.server.SetWriteDeadline(time.Now().Add(s.p.opts.DataTimeout))
	_, err := io.WriteString(s.server, line+"\r\n")
	if err != nil {
		s.close()
	}
	return err
}

func (s *session) clientLoop() {
	for {
		cmd, ok := s.readClient()
		if !ok {
			return
		}
		if !s.handleCommand(cmd) {
			return
		}
	}
}

// routeAddr is the "host:port" the session's server was chosen by.
func (s *session) routeAddr() string {
	return net.JoinHostPort(s.serverHost, fmt.Sprint(s.serverAddr.Port()))
}

func (s *session) startServerLoop() {
	s.serverDone = make(chan struct{})
	go func() {
		defer close(s.serverDone)
		s.serverLoop()
	}()
}

// serverLoop reads replies, pairs each with its command and forwards it.
func (s *session) serverLoop() {
	for {
		rep, err := s.sr.ReadReply()
		if err == nil {
			err = checkReply(rep)
		}
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if !closed {
				if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
					s.log.Warn("bad reply from server, closing", "server", s.serverAddr.String(), "err", err)
				}
				s.reply(ftp.CodeNotAvailable, "Service not available, connection to server closed.")
			}
			s.close()
			return
		}
		pe := s.pairReply(rep)
		if pe == nil {
			if rep.Code == ftp.CodeNotAvailable {
				s.reply(rep.Code, rep.Message())
				s.close()
				return
			}
			s.log.Warn("unsolicited reply from server dropped", "server", s.serverAddr.String(), "code", rep.Code)
			continue
		}
		if ftp.IsPreliminary(rep.Code) {
			s.reply(rep.Code, rep.Message())
			continue
		}
		code, msg, forward := rep.Code, rep.Message(), true
		switch pe.kind {
		case kUser, kPass:
			if !s.loginResult(pe, rep) {
				return
			}
		case kFeat:
			if rep.Code == ftp.CodeSystemStatus {
				msg = s.rewriteFEAT(rep)
			}
		case kData:
			code, msg, forward = s.dataReply(pe, rep)
		case kTransfer:
			pe.xfer.finish(rep.Code)
			s.mu.Lock()
			if s.xfer == pe.xfer {
				s.xfer = nil
			}
			s.mu.Unlock()
		}
		if forward {
			if s.reply(code, msg) != nil {
				s.close()
				return
			}
		}
		if pe.kind == kQuit && code == ftp.CodeClosing {
			s.close()
			return
		}
	}
}

// pairReply finds the command a reply answers and, for a final reply,
// takes it off the queue. Replies come in command order, except that a
// server answers STAT and NOOP at once while a transfer runs, before the
// transfer's own final reply: a reply that cannot end a transfer (a 2xx
// other than 226 and 250, or a 500-504 refusal) goes to the first such
// command queued behind the transfer.
func (s *session) pairReply(rep ftp.Reply) *pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil
	}
	i := 0
	if s.pending[0].kind == kTransfer && !ftp.IsPreliminary(rep.Code) && !endsTransfer(rep.Code) &&
		len(s.pending) > 1 && s.pending[1].kind == kConcurrent {
		i = 1
	}
	pe := s.pending[i]
	if (rep.Code == ftp.CodePassive || rep.Code == ftp.CodeExtendedPassive) &&
		(pe.kind != kData || pe.sent != "PASV" && pe.sent != "EPSV") {
		// A passive reply answers only the proxy's own PASV or EPSV: one
		// that arrives for another command is not its reply (a server
		// that sent it unasked) and must never reach the client, whose
		// data connections the proxy owns.
		return nil
	}
	if !ftp.IsPreliminary(rep.Code) {
		s.pending = append(s.pending[:i:i], s.pending[i+1:]...)
	}
	return pe
}

// endsTransfer reports whether a reply code can be the final reply to a
// transfer command.
func endsTransfer(code int) bool {
	switch {
	case code == ftp.CodeClosingData || code == ftp.CodeFileActionOK:
		return true
	case code >= ftp.CodeSyntaxError && code <= ftp.CodeParamNotImplemented:
		return false
	default:
		return ftp.IsNegative(code)
	}
}

// loginResult books the server's answer to USER or PASS: a login marks the
// session as logged in (it is no longer counted nor evicted as a pre-login
// session); a refused password counts toward the client address's ban. It
// returns false when the session must end.
func (s *session) loginResult(pe *pending, rep ftp.Reply) bool {
	switch {
	case rep.Code == ftp.CodeLoggedIn:
		if s.entry != nil && !s.entry.LoggedIn() {
			s.close() // evicted while the server checked the password
			return false
		}
		s.mu.Lock()
		s.loggedIn = true
		s.mu.Unlock()
		s.log.Info("login", "client", s.clientAddr.String(), "server", s.serverAddr.String(), "user", s.userName())
		s.p.book.LoginSucceeded(s.clientAddr.Addr())
	case pe.kind == kPass && rep.Code == ftp.CodeNotLoggedIn:
		s.log.Warn("login failed", "client", s.clientAddr.String(), "server", s.serverAddr.String(), "user", s.userName())
		if s.p.book.LoginFailed(s.clientAddr.Addr()) {
			s.log.Warn("client address banned after repeated login failures", "client", s.clientAddr.String(),
				"for", s.p.opts.BanDuration.String())
			s.reply(ftp.CodeNotAvailable, "Too many failed logins; closing control connection.")
			s.close()
			return false
		}
	}
	return true
}

// rewriteFEAT replaces the server's TLS features by the proxy's own.
func (s *session) rewriteFEAT(rep ftp.Reply) string {
	if len(rep.Lines) < 2 {
		return rep.Message()
	}
	lines := []string{rep.Lines[0]}
	have := map[string]bool{}
	for _, l := range rep.Lines[1 : len(rep.Lines)-1] {
		f := strings.ToUpper(strings.TrimSpace(l))
		name, _, _ := strings.Cut(f, " ")
		switch name {
		case "AUTH", "PBSZ", "PROT", "CCC", "LPSV", "LPRT":
			continue
		}
		have[name] = true
		lines = append(lines, strings.TrimSpace(l))
	}
	for _, f := range s.proxyFeatures() {
		name, _, _ := strings.Cut(f, " ")
		if !have[name] {
			lines = append(lines, f)
		}
	}
	lines = append(lines, rep.Lines[len(rep.Lines)-1])
	return strings.Join(lines, "\n")
}

func (s *session) userName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}
