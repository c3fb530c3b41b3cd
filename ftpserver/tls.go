package ftpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// FTPS (RFC 4217, RFC 2228): AUTH TLS, PBSZ, PROT, CCC, implicit TLS, and
// session reuse on data connections.

// tlsTagLen is the length of the random tag that ties a data connection's
// TLS session to its control connection.
const tlsTagLen = 16

// extSessionTicket is the TLS session_ticket extension (RFC 5077).
const extSessionTicket = 35

// prepareTLS builds the server-wide TLS configuration from opts.TLS.
func (o *Options) prepareTLS() error {
	if o.TLS == nil {
		return nil
	}
	if len(o.TLS.Certificates) == 0 && o.TLS.GetCertificate == nil && o.TLS.GetConfigForClient == nil {
		return errors.New("ftpserver: Options.TLS has no certificate")
	}
	c := o.TLS.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	c.NextProtos = []string{"ftp"}
	// Explicit ticket keys, so that every per-session clone below can read
	// the tickets issued by the others.
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	c.SetSessionTicketKeys([][32]byte{key})
	if sni := o.RequireSNI; sni != "" {
		c.GetConfigForClient = chainSNICheck(sni, c.GetConfigForClient)
	}
	o.TLS = c
	if o.TLSHandshakeTimeout == 0 {
		o.TLSHandshakeTimeout = 10 * time.Second
	}
	if o.RequireProtP == ProtDefault && o.TLSMode == TLSRequired {
		o.RequireProtP = ProtRequired
	}
	return nil
}

func chainSNICheck(want string, next func(*tls.ClientHelloInfo) (*tls.Config, error)) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if !strings.EqualFold(h.ServerName, want) {
			return nil, errors.New("ftpserver: client SNI " + `"` + h.ServerName + `"` + " is not the required name")
		}
		if next != nil {
			return next(h)
		}
		return nil, nil
	}
}

// tlsConfigs returns the session's control and data TLS configurations.
// Tickets issued on either carry the session's random tag; the data
// configuration resumes only tickets with that tag, so a data connection
// resumes this control connection's session or does not resume at all.
func (s *session) tlsConfigs() (control, data *tls.Config) {
	if s.tlsControl != nil {
		return s.tlsControl, s.tlsData
	}
	tag := make([]byte, tlsTagLen)
	rand.Read(tag)
	base := s.opts.TLS
	wrap := func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return base.EncryptTicket(cs, ss)
	}
	control = base.Clone()
	next := base.GetConfigForClient
	control.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		s.ticketsOffered = slices.Contains(h.Extensions, extSessionTicket)
		if next != nil {
			return next(h)
		}
		return nil, nil
	}
	control.WrapSession = wrap
	// The control connection never resumes: it always gets a fresh session
	// and so fresh tickets carrying this session's tag.
	control.UnwrapSession = func([]byte, tls.ConnectionState) (*tls.SessionState, error) { return nil, nil }
	data = base.Clone()
	data.WrapSession = wrap
	data.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := base.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, nil
		}
		for _, e := range ss.Extra {
			if bytes.Equal(e, tag) {
				return ss, nil
			}
		}
		return nil, nil // another session's ticket: full handshake, refused below
	}
	s.tlsControl, s.tlsData = control, data
	return control, data
}

// handshake runs a server handshake on c with the handshake timeout.
func (s *session) handshake(ctx context.Context, c net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	tc := tls.Server(c, cfg)
	ctx, cancel := context.WithTimeout(ctx, s.opts.TLSHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return tc, nil
}

func (s *session) cmdAUTH(arg string) bool {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "TLS", "TLS-C", "SSL", "TLS-P":
	default:
		s.reply(ftp.CodeParamNotImplemented, "AUTH "+arg+" not supported; use AUTH TLS.")
		return true
	}
	if s.opts.TLS == nil {
		s.reply(ftp.CodeNotImplemented, "TLS is not configured on this server.")
		return true
	}
	if s.tlsConn != nil {
		s.reply(ftp.CodeBadSequence, "TLS is already active.")
		return true
	}
	s.reply(ftp.CodeAuthOK, "AUTH TLS successful; start the TLS handshake.")
	if n := s.r.Buffered(); n > 0 {
		// Plain text pipelined behind AUTH TLS is an injection attempt
		// (CVE-2011-0411 class): it is discarded, never executed.
		s.log.Warn("discarded plain-text bytes pipelined after AUTH TLS", "bytes", n)
	}
	control, _ := s.tlsConfigs()
	s.conn.SetDeadline(time.Time{})
	var under net.Conn = s.conn
	if s.opts.AllowCCC {
		// After CCC the clear-text commands follow the TLS records on the
		// same socket: never read past a record boundary.
		under = &recordConn{Conn: s.conn}
	}
	tc, err := s.handshake(s.ctx, under, control)
	if err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		return false
	}
	s.startTLS(tc)
	if strings.EqualFold(strings.TrimSpace(arg), "SSL") || strings.EqualFold(strings.TrimSpace(arg), "TLS-P") {
		s.protP = true // AUTH SSL historically implies a protected data channel
	}
	return true
}

// startTLS switches the control connection to tc, discarding any buffered
// plain text.
func (s *session) startTLS(tc *tls.Conn) {
	s.wmu.Lock()
	s.out = tc
	s.wmu.Unlock()
	s.tlsConn = tc
	s.r.Reset(tc)
	st := tc.ConnectionState()
	s.log.Info("TLS established", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
}

func (s *session) cmdPBSZ(arg string) bool {
	if s.tlsConn == nil {
		s.reply(ftp.CodeBadSequence, "PBSZ needs AUTH TLS first.")
		return true
	}
	// TLS has no protection buffer: any size is answered with PBSZ=0
	// (RFC 4217 section 9).
	s.reply(ftp.CodeOK, "PBSZ=0")
	s.pbsz = true
	return true
}

func (s *session) cmdPROT(arg string) bool {
	if s.tlsConn == nil {
		s.reply(ftp.CodeBadSequence, "PROT needs AUTH TLS first.")
		return true
	}
	if !s.pbsz {
		s.reply(ftp.CodeBadSequence, "Send PBSZ 0 before PROT.")
		return true
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "P":
		s.protP = true
		s.reply(ftp.CodeOK, "Data connections will be protected.")
	case "C":
		if s.opts.RequireProtP == ProtRequired {
			s.reply(534, "Clear data connections are refused by policy; use PROT P.")
			return true
		}
		s.protP = false
		s.reply(ftp.CodeOK, "Data connections will be in clear text.")
	case "S", "E":
		s.reply(ftp.CodeParamNotImplemented, "Only PROT P and PROT C are supported.")
	default:
		s.reply(ftp.CodeArgSyntax, "PROT takes C or P.")
	}
	return true
}

// cmdCCC drops TLS on the control connection (RFC 4217 section 12.3) when
// the administrator allows it; data connections keep their PROT setting.
func (s *session) cmdCCC(string) bool {
	switch {
	case s.tlsConn == nil:
		s.reply(ftp.CodeBadSequence, "The control connection is not protected.")
		return true
	case !s.opts.AllowCCC:
		s.reply(534, "CCC is refused by policy.")
		return true
	}
	s.reply(ftp.CodeOK, "Control connection returns to clear text.")
	tc := s.tlsConn
	if err := tc.CloseWrite(); err != nil {
		return false
	}
	// Wait for the client's close_notify, then carry on over TCP.
	s.conn.SetReadDeadline(time.Now().Add(s.opts.TLSHandshakeTimeout))
	var buf [64]byte
	for {
		if _, err := tc.Read(buf[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Info("CCC: no close_notify from client", "err", err)
				return false
			}
			break
		}
	}
	s.wmu.Lock()
	s.out = s.conn
	s.wmu.Unlock()
	s.tlsConn = nil
	s.r.Reset(s.conn)
	s.log.Info("control connection back in clear text (CCC)")
	return true
}

// protectData wraps a data connection in TLS when PROT P is in effect and
// enforces session reuse. It replies itself on failure.
func (s *session) protectData(ctx context.Context, c net.Conn, protP bool) (net.Conn, bool) {
	if !protP {
		return c, true
	}
	_, data := s.tlsConfigs()
	tc, err := s.handshake(ctx, c, data)
	if err != nil {
		s.log.Info("data connection TLS handshake failed", "err", err)
		s.reply(ftp.CodeCantOpenData, "TLS handshake on the data connection failed.")
		return nil, false
	}
	if !tc.ConnectionState().DidResume && !s.reuseExempt() {
		s.log.Warn("refused data connection that did not resume the control connection's TLS session")
		tc.Close()
		s.reply(522, "Data connection must resume the TLS session of the control connection.")
		return nil, false
	}
	return tc, true
}

// reuseExempt reports whether a data connection may skip session
// resumption. With ReuseRequired, a TLS 1.2 client that offered no session
// ticket extension on the control connection (curl with OpenSSL does so) is
// exempt: it could only resume by session ID, which Go's TLS stack does not
// offer, so the data connection is tied to the client by its address alone
// (the passive-port and PORT checks). ReuseStrict refuses such clients.
func (s *session) reuseExempt() bool {
	switch s.opts.TLSReuse {
	case ReuseRelaxed:
		return true
	case ReuseRequired:
		if s.tlsConn != nil && s.tlsConn.ConnectionState().Version == tls.VersionTLS12 && !s.ticketsOffered {
			s.noReuseOnce.Do(func() {
				s.log.Info("client offers no TLS 1.2 session tickets; data connections are tied to it by address only")
			})
			return true
		}
	}
	return false
}

// tlsRefusal explains why a command is refused before TLS, or "".
func (s *session) tlsRefusal(verb string) string {
	if s.opts.TLS == nil || s.opts.TLSMode != TLSRequired || s.tlsConn != nil {
		return ""
	}
	switch verb {
	case "USER", "PASS", "ACCT":
		return "TLS is required on this server: send AUTH TLS first."
	}
	return ""
}

// recordConn reads a TLS stream one record at a time, never past the end of
// a record, so that whatever follows the final close_notify (the clear text
// after CCC) stays in the socket.
type recordConn struct {
	net.Conn
	hdr  [5]byte
	got  int // header bytes read of the current record
	left int // body bytes still to read of the current record
}

func (c *recordConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.got < len(c.hdr) {
		n, err := c.Conn.Read(p[:min(len(p), len(c.hdr)-c.got)])
		copy(c.hdr[c.got:], p[:n])
		c.got += n
		if c.got == len(c.hdr) {
			c.left = int(c.hdr[3])<<8 | int(c.hdr[4])
			if c.left == 0 {
				c.got = 0
			}
		}
		return n, err
	}
	n, err := c.Conn.Read(p[:min(len(p), c.left)])
	c.left -= n
	if c.left == 0 {
		c.got = 0
	}
	return n, err
}
