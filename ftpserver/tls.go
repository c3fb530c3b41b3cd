package ftpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
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
	o.tlsBook = newTLSBook()
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
// Tickets issued on either carry the session's random tag, which the
// options' tlsBook maps to the session's client address and logged-in user.
// The data configuration resumes the session's own tickets only;
// dataProtector widens that under ReuseRequired.
func (s *session) tlsConfigs() (control, data *tls.Config) {
	if s.tlsControl != nil {
		return s.tlsControl, s.tlsData
	}
	tag := make([]byte, tlsTagLen)
	rand.Read(tag)
	book := s.opts.tlsBook
	if book != nil && book.add(s, tag) {
		context.AfterFunc(s.ctx, func() { book.drop(s) })
	}
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
	// The session's own tickets; dataProtector widens this per connection.
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
		return nil, nil // another session's ticket: full handshake, refused later
	}
	s.tlsControl, s.tlsData = control, data
	return control, data
}

// maxTLSBook bounds the tlsBook. Sessions are capped anyway (MaxSessions);
// past this bound a new session is not recorded, and its data connections
// can resume only its own tickets, as under ReuseStrict.
const maxTLSBook = 1 << 16

// tlsBook maps the tags of live TLS sessions to who they are: the client
// address and, once logged in, the user. A data connection may resume a
// ticket whose tag belongs to a session of the same user from the same
// address: rclone and others share one session cache across parallel
// connections. Entries are dropped when their session ends, so tickets of
// ended sessions resume nothing but their own session's (which is gone).
// One book serves the sessions of one Options generation, like the ticket
// key prepareTLS makes.
type tlsBook struct {
	mu    sync.Mutex
	byTag map[string]*tlsOwner
	bySes map[*session]*tlsOwner
}

// tlsOwner is the session a ticket tag was issued to.
type tlsOwner struct {
	tag  string
	addr netip.Addr
	user string // "" until logged in, and again after REIN
	// known is closed (settled) at the first login or at the session's end.
	known   chan struct{}
	settled bool
}

// settle closes known once; the book's lock is held.
func (o *tlsOwner) settle() {
	if !o.settled {
		o.settled = true
		close(o.known)
	}
}

func newTLSBook() *tlsBook {
	return &tlsBook{byTag: map[string]*tlsOwner{}, bySes: map[*session]*tlsOwner{}}
}

// add records s under tag, reporting false when the book is full.
func (b *tlsBook) add(s *session, tag []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.byTag) >= maxTLSBook {
		return false
	}
	o := &tlsOwner{tag: string(tag), addr: s.remote.Addr().Unmap(), user: s.userName(), known: make(chan struct{})}
	if o.user != "" {
		o.settle()
	}
	b.byTag[o.tag] = o
	b.bySes[s] = o
	return true
}

// drop forgets s.
func (b *tlsBook) drop(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o := b.bySes[s]; o != nil {
		delete(b.byTag, o.tag)
		delete(b.bySes, s)
		o.settle()
	}
}

// setUser records the user s is logged in as ("" for none).
func (b *tlsBook) setUser(s *session, user string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o := b.bySes[s]; o != nil {
		o.user = user
		if user != "" {
			o.settle()
		}
	}
}

// judge tells whether one of tags belongs to a live session logged in as
// the same user as s, from the same client address. When none does yet but
// some belong to sessions from that address that have not logged in, it
// returns channels that close when those log in or end: tickets are issued
// at AUTH TLS, before USER and PASS, and a client that shares its session
// cache may use one on a data connection of another control connection
// before the first has finished logging in.
func (b *tlsBook) judge(s *session, tags [][]byte) (ok bool, pending []chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	me := b.bySes[s]
	if me == nil || me.user == "" {
		return false, nil
	}
	for _, t := range tags {
		o := b.byTag[string(t)]
		switch {
		case o == nil || o.addr != me.addr:
		case o.user == me.user:
			return true, nil
		case o.user == "" && !o.settled:
			pending = append(pending, o.known)
		}
	}
	return false, pending
}

// sameClient waits, within ctx, until judge can tell whether one of tags
// belongs to a session of the same user as s from the same address.
func (b *tlsBook) sameClient(ctx context.Context, s *session, tags [][]byte) bool {
	for {
		ok, pending := b.judge(s, tags)
		if ok || len(pending) == 0 {
			return ok
		}
		select {
		case <-pending[0]:
		case <-ctx.Done():
			return false
		}
	}
}

// len is the number of sessions recorded.
func (b *tlsBook) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byTag)
}

// bindTLSUser records the session's logged-in user (none after REIN) for
// session reuse across control connections. Login and REIN call it.
func (s *session) bindTLSUser() {
	if s.tlsControl != nil && s.opts.tlsBook != nil {
		s.opts.tlsBook.setUser(s, s.userName())
	}
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

func (s *session) cmdAUTH(arg string) error {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "TLS", "TLS-C", "SSL", "TLS-P":
	default:
		return ftpErr(ftp.CodeParamNotImplemented, "AUTH "+arg+" not supported; use AUTH TLS.")
	}
	if s.opts.TLS == nil {
		return ftpErr(ftp.CodeNotImplemented, "TLS is not configured on this server.")
	}
	if s.tlsConn != nil {
		return ftpErr(ftp.CodeBadSequence, "TLS is already active.")
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
		s.observeTLSFailed(s.userName(), false, err)
		return errCloseSession
	}
	s.startTLS(tc)
	if strings.EqualFold(strings.TrimSpace(arg), "SSL") || strings.EqualFold(strings.TrimSpace(arg), "TLS-P") {
		s.protP = true // AUTH SSL historically implies a protected data channel
	}
	return nil
}

// startTLS switches the control connection to tc, discarding any buffered
// plain text.
func (s *session) startTLS(tc *tls.Conn) {
	s.wmu.Lock()
	s.out = tc
	s.wmu.Unlock()
	s.tlsConn = tc
	s.r.Reset(tc)
	s.publish()
	st := tc.ConnectionState()
	s.log.Info("TLS established", "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite))
}

func (s *session) cmdPBSZ(arg string) error {
	if s.tlsConn == nil {
		return ftpErr(ftp.CodeBadSequence, "PBSZ needs AUTH TLS first.")
	}
	// TLS has no protection buffer: any size is answered with PBSZ=0
	// (RFC 4217 section 9).
	s.reply(ftp.CodeOK, "PBSZ=0")
	s.pbsz = true
	return nil
}

func (s *session) cmdPROT(arg string) error {
	if s.tlsConn == nil {
		return ftpErr(ftp.CodeBadSequence, "PROT needs AUTH TLS first.")
	}
	if !s.pbsz {
		return ftpErr(ftp.CodeBadSequence, "Send PBSZ 0 before PROT.")
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "P":
		s.setProt(true)
		s.reply(ftp.CodeOK, "Data connections will be protected.")
	case "C":
		if s.opts.RequireProtP == ProtRequired {
			return ftpErr(ftp.CodeProtectionDenied, "Clear data connections are refused by policy; use PROT P.")
		}
		s.setProt(false)
		s.reply(ftp.CodeOK, "Data connections will be in clear text.")
	case "S", "E":
		return ftpErr(ftp.CodeParamNotImplemented, "Only PROT P and PROT C are supported.")
	default:
		return ftpErr(ftp.CodeArgSyntax, "PROT takes C or P.")
	}
	return nil
}

// setProt sets the data protection level. A passive listener opened under
// the other level is closed: under PROT P it is already accepting and
// handshaking, under PROT C it is not, so the client must send PASV or
// EPSV again.
func (s *session) setProt(p bool) {
	if p != s.protP {
		s.closePassive()
	}
	s.protP = p
}

// cmdCCC drops TLS on the control connection (RFC 4217 section 12.3) when
// the administrator allows it; data connections keep their PROT setting.
func (s *session) cmdCCC(string) error {
	switch {
	case s.tlsConn == nil:
		return ftpErr(ftp.CodeBadSequence, "The control connection is not protected.")
	case !s.opts.AllowCCC:
		return ftpErr(ftp.CodeProtectionDenied, "CCC is refused by policy.")
	}
	s.reply(ftp.CodeOK, "Control connection returns to clear text.")
	tc := s.tlsConn
	if err := tc.CloseWrite(); err != nil {
		return errCloseSession
	}
	// Wait for the client's close_notify, then carry on over TCP.
	s.conn.SetReadDeadline(time.Now().Add(s.opts.TLSHandshakeTimeout))
	var buf [64]byte
	for {
		if _, err := tc.Read(buf[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Info("CCC: no close_notify from client", "err", err)
				return errCloseSession
			}
			break
		}
	}
	s.wmu.Lock()
	s.out = s.conn
	s.wmu.Unlock()
	s.tlsConn = nil
	s.r.Reset(s.conn)
	s.publish()
	s.log.Info("control connection back in clear text (CCC)")
	return nil
}

// dataProtector returns how a data connection is protected under PROT P:
// a TLS handshake with the session's data configuration, then the
// session-reuse check. It is built in the control goroutine and captures
// the session's state of that moment, so that the handshakes it runs in
// other goroutines read nothing the control goroutine may change. The
// caller bounds the handshake with ctx (TLSHandshakeTimeout).
func (s *session) dataProtector() protectFunc {
	_, data := s.tlsConfigs()
	exempt := s.reuseExempt()
	log, user := s.log, s.userName()
	book := s.opts.tlsBook
	widen := s.opts.TLSReuse != ReuseStrict && book != nil
	base := s.opts.TLS
	return func(ctx context.Context, c *net.TCPConn) (net.Conn, error) {
		cfg := data
		var others [][]byte // tags of another session's ticket this connection resumed
		if widen {
			cfg = data.Clone()
			cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
				if ss, _ := data.UnwrapSession(identity, cs); ss != nil {
					return ss, nil // this session's own
				}
				ss, err := base.DecryptTicket(identity, cs)
				if err != nil || ss == nil {
					return nil, nil
				}
				if ok, pending := book.judge(s, ss.Extra); ok || len(pending) > 0 {
					others = ss.Extra // checked, or waited for, after the handshake
					return ss, nil
				}
				return nil, nil
			}
		}
		tc := tls.Server(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			log.Info("data connection TLS handshake failed", "err", err)
			s.observeTLSFailed(user, true, err)
			return nil, fmt.Errorf("%w: %v", errDataTLS, err)
		}
		resumed := tc.ConnectionState().DidResume
		if resumed && others != nil && !book.sameClient(ctx, s, others) {
			resumed = false
		}
		if !resumed && !exempt {
			log.Warn("refused data connection that resumed no TLS session of this client")
			tc.Close()
			return nil, errNoReuse
		}
		return tc, nil
	}
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
