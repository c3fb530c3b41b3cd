package ftpproxy

import (
	"crypto/tls"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/wire"
)

// clientCommand handles one client command once the session is connected
// to its server. It returns false when the session must end.
type clientCommand func(s *session, cmd ftp.Command) bool

// clientCommands holds the commands the proxy acts on itself; any other
// verb is forwarded to the server as it is.
var clientCommands = map[string]clientCommand{
	"AUTH": (*session).handleTLSCommand,
	"PBSZ": (*session).handleTLSCommand,
	"PROT": (*session).handleTLSCommand,
	"CCC":  (*session).handleTLSCommand,

	// REIN would need the proxy to forget its login state; the others
	// carry security data the proxy cannot relay.
	"REIN": cmdNotSupported,
	"LPRT": cmdNotSupported,
	"LPSV": cmdNotSupported,
	"ADAT": cmdNotSupported,
	"MIC":  cmdNotSupported,
	"CONF": cmdNotSupported,
	"ENC":  cmdNotSupported,

	"PASV": (*session).cmdPassive,
	"EPSV": (*session).cmdPassive,
	"PORT": (*session).cmdActive,
	"EPRT": (*session).cmdActive,

	"RETR": (*session).cmdTransfer,
	"LIST": (*session).cmdTransfer,
	"NLST": (*session).cmdTransfer,
	"MLSD": (*session).cmdTransfer,
	"STOR": (*session).cmdTransfer,
	"STOU": (*session).cmdTransfer,
	"APPE": (*session).cmdTransfer,

	"USER": (*session).cmdUser,
	"PASS": forwardAs(kPass),
	"FEAT": forwardAs(kFeat),
	"QUIT": forwardAs(kQuit),
	"ABOR": (*session).cmdAbort,
	"STAT": (*session).cmdConcurrent,
	"NOOP": (*session).cmdConcurrent,
}

// handleCommand acts on one client command once connected to the server.
func (s *session) handleCommand(cmd ftp.Command) bool {
	if h, ok := clientCommands[cmd.Verb]; ok {
		return h(s, cmd)
	}
	return s.forward(cmd, kOther)
}

// forward sends the command to the server as it is, expecting a reply of
// the given kind.
func (s *session) forward(cmd ftp.Command, kind cmdKind) bool {
	line := cmd.Verb
	if cmd.Arg != "" {
		line += " " + cmd.Arg
	}
	return s.send(&pending{verb: cmd.Verb, kind: kind}, line) == nil
}

func forwardAs(kind cmdKind) clientCommand {
	return func(s *session, cmd ftp.Command) bool { return s.forward(cmd, kind) }
}

func cmdNotSupported(s *session, _ ftp.Command) bool {
	s.reply(ftp.CodeNotImplemented, "Command not supported by the proxy.")
	return true
}

func (s *session) cmdPassive(cmd ftp.Command) bool {
	if cmd.Verb == "EPSV" && strings.EqualFold(strings.TrimSpace(cmd.Arg), "ALL") {
		s.mu.Lock()
		s.epsvAll = true
		s.mu.Unlock()
		s.reply(ftp.CodeOK, "EPSV ALL ok.")
		return true
	}
	s.clientPassive(cmd)
	return true
}

func (s *session) cmdActive(cmd ftp.Command) bool {
	s.clientActive(cmd)
	return true
}

func (s *session) cmdTransfer(cmd ftp.Command) bool {
	s.startTransfer(cmd)
	return true
}

// cmdUser forwards USER, checking that it keeps the session's server.
func (s *session) cmdUser(cmd ftp.Command) bool {
	o := &s.p.opts
	if o.RequireClientTLS && !s.clientTLS {
		s.reply(ftp.CodeNotLoggedIn, "Use AUTH TLS first.")
		return true
	}
	user := cmd.Arg
	if o.Mode == ModeExplicit || len(o.UserBackends) > 0 {
		u, addr, err := s.route(cmd.Arg)
		if err != nil || addr != s.routeAddr() {
			s.reply(ftp.CodeNotLoggedIn, "Cannot change server within a session.")
			return true
		}
		user = u
	}
	if !allowed(o.Rules, "USER", user, user, s.clientAddr.Addr()) {
		s.p.stats.refused.Add(1)
		s.reply(ftp.CodeNotLoggedIn, "Login not allowed by proxy policy.")
		return true
	}
	s.mu.Lock()
	s.user, s.loggedIn = user, false
	s.mu.Unlock()
	return s.send(&pending{verb: cmd.Verb, kind: kUser}, "USER "+user) == nil
}

// cmdAbort closes the proxy's data path, then forwards ABOR.
func (s *session) cmdAbort(cmd ftp.Command) bool {
	s.mu.Lock()
	x := s.xfer
	s.mu.Unlock()
	if x != nil {
		x.cancel()
	}
	return s.forward(cmd, kOther)
}

// cmdConcurrent forwards STAT and NOOP, marked as answered at once when a
// transfer runs (see pairReply).
func (s *session) cmdConcurrent(cmd ftp.Command) bool {
	kind := kOther
	s.mu.Lock()
	if s.xfer != nil {
		kind = kConcurrent
	}
	s.mu.Unlock()
	return s.forward(cmd, kind)
}

// handleTLSCommand answers AUTH, PBSZ, PROT and CCC for the client side;
// TLS toward the server is the proxy's own business.
func (s *session) handleTLSCommand(cmd ftp.Command) bool {
	o := &s.p.opts
	arg := strings.ToUpper(strings.TrimSpace(cmd.Arg))
	switch cmd.Verb {
	case "AUTH":
		switch {
		case o.ClientTLSMode != TLSExplicit:
			s.reply(ftp.CodeNotImplemented, "AUTH not available.")
		case s.clientTLS:
			s.reply(ftp.CodeBadSequence, "TLS already active.")
		case arg != "TLS" && arg != "TLS-C" && arg != "SSL":
			s.reply(ftp.CodeParamNotImplemented, "AUTH type not supported.")
		default:
			s.wmu.Lock()
			defer s.wmu.Unlock()
			s.client.SetWriteDeadline(time.Now().Add(o.DataTimeout))
			if wire.WriteReply(s.client, ftp.CodeAuthOK, "AUTH TLS ok.") != nil {
				return false
			}
			if n := s.cr.Buffered(); n > 0 {
				s.log.Warn("discarding plaintext pipelined after AUTH TLS", "client", s.clientAddr.String(), "bytes", n)
			}
			tc := tls.Server(s.client, s.clientTLSConfig())
			tc.SetDeadline(time.Now().Add(o.ConnectTimeout))
			if err := tc.Handshake(); err != nil {
				s.log.Info("client TLS handshake failed", "client", s.clientAddr.String(), "err", err)
				return false
			}
			tc.SetDeadline(time.Time{})
			s.client = tc
			s.cr.Reset(&crlfReader{r: tc})
			s.mu.Lock()
			s.clientTLS = true
			s.mu.Unlock()
		}
	case "PBSZ":
		if !s.clientTLS {
			s.reply(ftp.CodeBadSequence, "PBSZ needs AUTH TLS first.")
		} else {
			s.reply(ftp.CodeOK, "PBSZ=0")
		}
	case "PROT":
		switch {
		case !s.clientTLS:
			s.reply(ftp.CodeBadSequence, "PROT needs AUTH TLS first.")
		case arg == "P":
			s.mu.Lock()
			s.clientProt = true
			s.mu.Unlock()
			s.reply(ftp.CodeOK, "Protection level set to Private.")
		case arg == "C" && o.RequireClientTLS:
			s.reply(ftp.CodeProtectionDenied, "Clear data connections are refused.")
		case arg == "C":
			s.mu.Lock()
			s.clientProt = false
			s.mu.Unlock()
			s.reply(ftp.CodeOK, "Protection level set to Clear.")
		default:
			s.reply(ftp.CodeParamNotImplemented, "Protection level not supported.")
		}
	case "CCC":
		s.reply(ftp.CodeNotImplemented, "CCC not supported by the proxy.")
	}
	return true
}
