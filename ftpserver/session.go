package ftpserver

import (
	"context"
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
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/sessionbook"
	"github.com/ferryftp/ferry/internal/wire"
)

// session is one control connection.
type session struct {
	srv    *Server
	opts   *Options // snapshot taken at connect; logins use srv.options()
	id     string
	conn   net.Conn
	remote netip.AddrPort
	local  netip.AddrPort
	r      *wire.Reader
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc

	wmu  sync.Mutex // serialises replies from the control loop and transfers
	out  net.Conn   // where replies go: conn, or the TLS layer over it
	wbuf []byte

	// TLS state (RFC 4217).
	tlsConn    *tls.Conn // control connection's TLS layer, when active
	tlsControl *tls.Config
	tlsData    *tls.Config
	pbsz       bool
	protP      bool
	implicit   bool
	// ticketsOffered records whether the control connection's ClientHello
	// offered session tickets (the only TLS 1.2 resumption Go supports).
	ticketsOffered bool
	noReuseOnce    sync.Once

	// Login state.
	pendingUser string
	ident       *Identity
	unknown     int                // refused or unknown commands before login
	verb        string             // the command being run (control goroutine only)
	entry       *sessionbook.Entry // this session in the server's book

	// Command state.
	cwd        string
	binary     bool // TYPE I (default A, as RFC 959 says)
	restOffset int64
	renameFrom string
	mlstFacts  ftp.FactSet
	hashAlgo   string
	hashWanted bool // HASH or OPTS HASH was used: hash uploads as they arrive (recvhash.go)
	epsvAll    bool
	pasv       *passive       // open passive listener, if any
	kept       *passive       // idle listener of the last passive transfer, for the next PASV/EPSV
	port       netip.AddrPort // PORT/EPRT target, if any

	xmu        sync.Mutex
	xfer       *transfer // running transfer, if any
	closeAfter bool      // Shutdown: close when the running transfer ends
	closeOnce  sync.Once

	limits sessionLimits // bandwidth limits of the logged-in user and of this session

	since time.Time // when the client connected
	pubMu sync.Mutex
	pub   sessionPub // what Server.Sessions shows; see admin.go
}

func newSession(srv *Server, o *Options, c net.Conn, remote netip.AddrPort, id string, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{
		srv:       srv,
		opts:      o,
		id:        id,
		conn:      c,
		out:       c,
		remote:    remote,
		local:     addrPort(c.LocalAddr()),
		r:         wire.NewReader(c, o.MaxLineLength),
		log:       log,
		ctx:       ctx,
		cancel:    cancel,
		cwd:       "/",
		mlstFacts: ftp.DefaultFacts,
		hashAlgo:  "SHA-256",
		since:     time.Now(),
	}
}

// serve runs the command loop until QUIT, a timeout or a dropped connection.
func (s *session) serve() {
	defer func() {
		// The slot is free before the client sees the connection close, so
		// a client that reconnects at once is not refused by the cap.
		if s.ident != nil {
			s.observeLogout()
			s.srv.releaseUser(s.ident.User)
			s.srv.bw.logout(s.ident.User)
		}
		s.close()
	}()
	s.log.Info("connected", "remote", s.remote.String(), "local", s.local.String())
	start := time.Now()
	s.observeSession(true, 0)
	defer func() {
		s.log.Info("disconnected", "duration", time.Since(start).Round(time.Millisecond).String())
		s.observeSession(false, time.Since(start))
	}()
	if s.implicit {
		control, _ := s.tlsConfigs()
		tc, err := s.handshake(s.ctx, s.conn, control)
		if err != nil {
			s.log.Info("implicit TLS handshake failed", "err", err)
			s.observeTLSFailed("", false, err)
			return
		}
		s.startTLS(tc)
		s.pbsz, s.protP = true, true // implicit FTPS protects data by default
	}
	s.publish()
	s.reply(ftp.CodeServiceReady, s.opts.Banner)
	for {
		s.setReadDeadline()
		line, err := s.r.ReadLine()
		if err != nil {
			if errors.Is(err, wire.ErrLineTooLong) {
				tooLong := ftpErr(ftp.CodeSyntaxError, fmt.Sprintf("Command line too long (limit %d bytes).", s.opts.MaxLineLength))
				if !s.answer(s.refuseCounted(tooLong)) {
					return
				}
				continue
			}
			if isTimeout(err) {
				if s.transferRunning() {
					continue
				}
				if s.ident == nil {
					s.reply(ftp.CodeNotAvailable, "Login timeout; closing control connection.")
				} else {
					s.reply(ftp.CodeNotAvailable, "Idle timeout; closing control connection.")
				}
				s.log.Info("timed out")
				return
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("control read failed", "err", err)
			}
			return
		}
		if !s.dispatch(line) {
			return
		}
	}
}

func (s *session) setReadDeadline() {
	if s.transferRunning() {
		s.conn.SetReadDeadline(time.Time{})
		return
	}
	d := s.opts.IdleTimeout
	if s.ident == nil {
		d = s.opts.LoginTimeout
	}
	s.conn.SetReadDeadline(time.Now().Add(d))
}

// dispatch parses and runs one command line and reports whether the
// session goes on. A handler that fails returns an error, and dispatch
// answers it with the reply replyFor gives; a refused data command first
// gives up the pending PORT/PASV setup (see run). errCloseSession, and any
// error answered with 421, end the session.
func (s *session) dispatch(line string) bool {
	return s.answer(s.exec(line))
}

// exec runs one command line: the checks every command goes through, then
// the command's handler. It returns the handler's error, or the refusal.
func (s *session) exec(line string) error {
	cmd, err := ftp.ParseCommand(line)
	if err != nil {
		s.log.Debug("bad command", "err", err)
		return s.refuseCounted(err)
	}
	s.log.Debug("command", "cmd", cmd.String())
	spec, ok := commands[cmd.Verb]
	if !ok {
		return s.refuseCounted(ftpErr(ftp.CodeNotImplemented, fmt.Sprintf("Command %q not implemented.", cmd.Verb)))
	}
	s.verb = cmd.Verb // a known verb only: it labels storage-error events
	if msg := s.tlsRefusal(cmd.Verb); msg != "" {
		return s.refuseCounted(ftpErr(ftp.CodeNotLoggedIn, msg))
	}
	if spec.login && s.ident == nil {
		return s.refuseCounted(ftpErr(ftp.CodeNotLoggedIn, "Please log in with USER and PASS first."))
	}
	switch {
	case spec.arg == argNone && cmd.Arg != "":
		return ftpErr(ftp.CodeArgSyntax, cmd.Verb+" takes no argument.")
	case spec.arg == argRequired && cmd.Arg == "":
		return ftpErr(ftp.CodeArgSyntax, cmd.Verb+" needs an argument.")
	}
	return s.run(cmd, spec)
}

// run runs a command that passed the checks. A data command refused here
// or by its handler, before its transfer started, consumes the pending
// PORT/PASV setup: the setup served that command, and the client sees its
// data connection refused.
func (s *session) run(cmd ftp.Command, spec cmdSpec) error {
	if !spec.data {
		return s.call(cmd, spec)
	}
	var err error
	if s.opts.RequireProtP == ProtRequired && !s.protP {
		err = ftpErr(ftp.CodeProtectionRequired, "Data connections must be protected: send PBSZ 0 and PROT P.")
	} else {
		err = s.call(cmd, spec)
	}
	if err != nil {
		s.takeDataSetup()
	}
	return err
}

// call calls a command's handler.
func (s *session) call(cmd ftp.Command, spec cmdSpec) error {
	if !spec.concurrent {
		// Commands other than ABOR, STAT, NOOP and the like wait for a
		// running transfer to end, so replies keep their order.
		s.waitTransfer()
	}
	if cmd.Verb != "RNTO" && cmd.Verb != "RNFR" {
		s.renameFrom = ""
	}
	return spec.fn(s, cmd.Arg)
}

// answer sends the reply for a command's error, if any, and reports whether
// the session goes on: errCloseSession (the handler has said goodbye, or
// there is no one left to answer) and any 421 reply end it.
func (s *session) answer(err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, errCloseSession):
		return false
	}
	s.observeStorageErr(s.userName(), s.verb, err)
	return s.replyErr(err) != ftp.CodeNotAvailable
}

// refuseCounted answers a refused command with err and counts it while no
// user is logged in: past MaxUnknownCommands it returns the 421 that ends
// the session.
func (s *session) refuseCounted(err error) error {
	s.replyErr(err)
	return s.countUnknown()
}

// countUnknown counts a refused command before login and returns the 421
// error that ends the session when there have been too many.
func (s *session) countUnknown() error {
	if s.ident != nil || s.opts.MaxUnknownCommands < 0 {
		return nil
	}
	s.unknown++
	if s.unknown >= s.opts.MaxUnknownCommands {
		s.log.Warn("too many unknown commands before login; closing")
		return ftpErr(ftp.CodeNotAvailable, "Too many unrecognised commands; closing control connection.")
	}
	return nil
}

// reply sends one reply; msg may span lines ("\n").
func (s *session) reply(code int, msg string) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf = wire.AppendReply(s.wbuf[:0], code, msg)
	s.conn.SetWriteDeadline(time.Now().Add(s.opts.DataTimeout))
	if _, err := s.out.Write(s.wbuf); err != nil {
		s.log.Debug("reply write failed", "err", err)
	}
	if cap(s.wbuf) > 4096 {
		s.wbuf = nil // don't keep a large listing buffer on an idle session
	}
}

// replyErr sends the reply for err, logs backend details, and returns the
// reply code.
func (s *session) replyErr(err error) int {
	fe := replyFor(err)
	var direct *ftp.Error
	if !errors.As(err, &direct) {
		s.log.Info("operation failed", "err", err, "code", fe.Code)
	}
	s.reply(fe.Code, fe.Message)
	return fe.Code
}

func (s *session) userName() string {
	if s.ident != nil {
		return s.ident.User
	}
	return ""
}

// shutdown is called by Server.Shutdown: an idle session is closed at once,
// one with a running transfer after it ends (or now when force is set).
func (s *session) shutdown(force bool) {
	s.xmu.Lock()
	running := s.xfer != nil
	if running && !force {
		s.closeAfter = true
		s.xmu.Unlock()
		return
	}
	s.xmu.Unlock()
	s.reply(ftp.CodeNotAvailable, "Server shutting down; closing control connection.")
	s.close()
}

// close ends the session: it cancels a running transfer and closes the
// connections. It is safe to call more than once and from other goroutines
// (Shutdown); login state is released by serve, in the control goroutine.
func (s *session) close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.conn.Close()
		s.closePassive()
		s.xmu.Lock()
		x := s.xfer
		s.xmu.Unlock()
		if x != nil {
			<-x.done
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// joinLines builds a multi-line reply message.
func joinLines(lines ...string) string { return strings.Join(lines, "\n") }
