package ftpserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/dataport"
	"github.com/ferryftp/ferry/internal/proxyproto"
)

var netipZero netip.AddrPort

// passive is a listener opened by PASV or EPSV for one data connection.
type passive struct {
	l *net.TCPListener
	// acc accepts on l in the background from PASV/EPSV on, under PROT P,
	// so that clients that start TLS before their command (aioftp) are
	// served; nil otherwise, when the transfer accepts.
	acc *acceptor
	// open counts the server's open passive listeners (Stats); freed
	// makes sure this one is uncounted once.
	open  *atomic.Int64
	freed atomic.Bool
}

// close closes the listener and stops its acceptor, if any.
func (p *passive) close() {
	if p.acc != nil {
		p.acc.stop()
	}
	p.l.Close()
	p.free()
}

// closePassive closes an open passive listener, and the listener kept
// from the last passive transfer.
func (s *session) closePassive() {
	s.xmu.Lock()
	p, k := s.pasv, s.kept
	s.pasv, s.kept = nil, nil
	s.xmu.Unlock()
	if p != nil {
		p.close()
	}
	if k != nil {
		s.srv.pasvKept.Add(-1)
		k.close()
	}
}

// keepPassive keeps the listener of a passive transfer whose connection
// the control goroutine accepted, for the session's next PASV/EPSV, or
// closes it. Opening a listener (socket, bind, listen, getsockname,
// epoll registration, and the close) is a good part of what a small file
// costs, and a session that fetched one file usually fetches the next.
// It is kept only while the data connection must come from the control
// peer's address (AllowForeignPassive off, no PROXY protocol), so knowing
// the port, which stays the same, lets no other host in; and only while
// kept listeners hold at most a quarter of the passive range, so idle
// sessions cannot starve the others of ports.
func (s *session) keepPassive(p *passive) {
	o := s.opts
	lo, hi := o.PassivePortMin, o.PassivePortMax
	if lo == 0 && hi == 0 {
		lo, hi = dataport.DefaultMin, dataport.DefaultMax
	}
	if o.AllowForeignPassive || len(o.ProxyProtocolFrom) > 0 || p.acc != nil {
		p.close()
		return
	}
	if s.srv.pasvKept.Add(1) > int64((hi-lo+1)/4) {
		s.srv.pasvKept.Add(-1)
		p.close()
		return
	}
	s.xmu.Lock()
	if s.ctx.Err() != nil {
		// The session is closing (Shutdown, from another goroutine): its
		// closePassive may have run already and would not see this one.
		s.xmu.Unlock()
		s.srv.pasvKept.Add(-1)
		p.close()
		return
	}
	old := s.kept
	s.kept = p
	s.xmu.Unlock()
	if old != nil { // not expected: the transfer claimed the setup first
		s.srv.pasvKept.Add(-1)
		old.close()
	}
}

// reuseKept returns the kept listener for a new PASV/EPSV, or nil. A
// connection that waits in its queue came before the reply that announces
// the port again, so it is not the client's data connection for it: it is
// closed.
func (s *session) reuseKept() *passive {
	s.xmu.Lock()
	k := s.kept
	s.kept = nil
	s.xmu.Unlock()
	if k == nil {
		return nil
	}
	s.srv.pasvKept.Add(-1)
	if dataport.Drain(k.l, s.logStale) {
		return k
	}
	k.close() // an endless queue: give this port up
	return nil
}

// logStale logs a stale data connection that a reused passive port closed.
func (s *session) logStale(c net.Conn) {
	s.log.Info("closed a stale data connection on a reused passive port", "from", c.RemoteAddr().String())
}

func (s *session) cmdPORT(arg string) error { return s.active("PORT", arg, ftp.ParsePORT) }

func (s *session) cmdEPRT(arg string) error { return s.active("EPRT", arg, ftp.ParseEPRT) }

// errEPSVAll refuses other data-connection commands after EPSV ALL.
var errEPSVAll = &ftp.Error{Code: ftp.CodeBadSequence, Message: "Only EPSV is allowed after EPSV ALL."}

// active sets up an active-mode data connection for PORT and EPRT: it
// checks the target against the RFC 2577 rules and remembers it for the
// next transfer.
func (s *session) active(verb, arg string, parse func(string) (netip.AddrPort, error)) error {
	switch {
	case s.epsvAll:
		return errEPSVAll
	case s.opts.DisableActive:
		return ftpErr(ftp.CodeNotImplemented, "Active mode is disabled on this server; use PASV or EPSV.")
	}
	ap, err := parse(arg)
	if err != nil {
		return err
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().IsUnspecified() {
		// lftp sends EPRT |2|::|port| over IPv6: "the address you see me
		// at". Taking it as the control peer cannot bounce anywhere.
		ap = netip.AddrPortFrom(s.remote.Addr().Unmap(), ap.Port())
	}
	if !s.opts.AllowForeignPORT && ap.Addr() != s.remote.Addr().Unmap() {
		s.log.Warn("refused "+verb+" to a foreign address", "target", ap.String())
		return ftpErr(ftp.CodeArgSyntax, verb+" refused: the address must be your own.")
	}
	if !s.opts.AllowLowPORT && ap.Port() < 1024 {
		s.log.Warn("refused "+verb+" to a privileged port", "target", ap.String())
		return ftpErr(ftp.CodeArgSyntax, verb+" refused: ports below 1024 are not allowed.")
	}
	s.closePassive()
	s.port = ap
	s.reply(ftp.CodeOK, verb+" command successful.")
	return nil
}

func (s *session) cmdPASV(string) error {
	switch {
	case s.epsvAll:
		return errEPSVAll
	case !s.local.Addr().Unmap().Is4():
		return ftpErr(ftp.CodeNotImplemented, "PASV works over IPv4 only; use EPSV.")
	}
	port, err := s.openPassive()
	if err != nil {
		return err
	}
	msg, err := ftp.FormatPASVReply(netip.AddrPortFrom(s.pasvAddr(), port))
	if err != nil {
		s.closePassive()
		return err
	}
	s.reply(ftp.CodePassive, msg)
	return nil
}

func (s *session) cmdEPSV(arg string) error {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "":
	case "ALL":
		s.epsvAll = true
		s.reply(ftp.CodeOK, "EPSV ALL accepted; only EPSV from now on.")
		return nil
	case "1", "2":
		want := "1"
		if !s.local.Addr().Unmap().Is4() {
			want = "2"
		}
		if arg != want {
			return ftpErr(ftp.CodeNetProtoNotSupported, "Network protocol not supported, use ("+want+")")
		}
	default:
		return ftpErr(ftp.CodeArgSyntax, "EPSV takes 1, 2, ALL or no argument.")
	}
	port, err := s.openPassive()
	if err != nil {
		return err
	}
	s.reply(ftp.CodeExtendedPassive, ftp.FormatEPSVReply(port))
	return nil
}

// pasvAddr is the address a PASV reply announces to this client.
func (s *session) pasvAddr() netip.Addr {
	client := s.remote.Addr().Unmap()
	for _, na := range s.opts.PublicAddrByNet {
		if na.Net.Contains(client) {
			return na.Addr.Unmap()
		}
	}
	if s.opts.PublicAddr.IsValid() {
		return s.opts.PublicAddr.Unmap()
	}
	return s.local.Addr().Unmap()
}

// openPassive opens a listener on a random port of the passive range, on
// the control connection's local address.
func (s *session) openPassive() (uint16, error) {
	var p *passive
	if !s.protP {
		p = s.reuseKept()
	}
	s.closePassive()
	s.port = netipZero
	if p == nil {
		// A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; listen on the plain IPv4 address.
		l, err := dataport.Listen(s.local.Addr().Unmap(), s.opts.PassivePortMin, s.opts.PassivePortMax)
		if err != nil {
			s.log.Error("cannot open passive port", "err", err)
			return 0, ftpErr(ftp.CodeCantOpenData, "Cannot open passive data connection.")
		}
		p = &passive{l: l, open: s.srv.countPassive()}
	}
	l := p.l
	if s.protP {
		// Clients may start TLS as soon as they are connected (aioftp
		// does, before it sends RETR or STOR): accept and handshake now.
		p.acc = s.startAcceptor(l, s.dataProtector(), false)
	}
	s.xmu.Lock()
	s.pasv = p
	s.xmu.Unlock()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// claimDataSetup hands the pending data-connection setup to a transfer and
// clears it from the session: each PASV/EPSV/PORT/EPRT serves one transfer.
func (s *session) claimDataSetup() (*passive, netip.AddrPort, bool) {
	s.xmu.Lock()
	p := s.pasv
	s.pasv = nil
	s.xmu.Unlock()
	port := s.port
	s.port = netipZero
	return p, port, p != nil || port.IsValid()
}

// takeDataSetup discards the pending data-connection setup for a command
// refused before its transfer started: the setup served that command, and
// a passive listener (with its acceptor) is closed.
func (s *session) takeDataSetup() {
	if p, _, _ := s.claimDataSetup(); p != nil {
		p.close()
	}
}

// pendingWait is how long acceptPending waits for a data connection that
// is not there yet: a client that pipelines (EPSV and RETR in one write,
// as ferry's own does) dials right after reading the 229, while the
// server is already reading its RETR; on loopback the connection lands
// within tens of microseconds.
const pendingWait = 2 * time.Millisecond

// acceptPending returns the client's data connection when it is already
// waiting on the passive listener (clients connect right after the 227/229
// reply) or arrives within pendingWait, or nil, leaving the listener to
// the normal accept.
func (s *session) acceptPending(p *passive) *net.TCPConn {
	if len(s.opts.ProxyProtocolFrom) > 0 {
		return nil // a header may still be on its way: use the normal path
	}
	if !dataport.ReadyWithin(p.l, pendingWait) {
		return nil
	}
	// The connection is queued: Accept does not block (a queued
	// connection reset meanwhile is still returned, to fail on write).
	c, err := p.l.AcceptTCP()
	if err != nil {
		return nil
	}
	if !s.opts.AllowForeignPassive && addrPort(c.RemoteAddr()).Addr().Unmap() != s.remote.Addr().Unmap() {
		s.log.Warn("dropped passive data connection from a foreign address", "from", c.RemoteAddr().String())
		c.Close()
		return nil
	}
	s.keepPassive(p)
	return c
}

// dial makes an active-mode data connection, from port L-1 of the control
// port by default, falling back to an ephemeral port when that is not allowed.
func (s *session) dial(ctx context.Context, target netip.AddrPort) (*net.TCPConn, error) {
	lport := s.opts.ActivePort
	if lport == 0 {
		lport = int(s.local.Port()) - 1
	}
	if lport < 0 {
		lport = 0
	}
	d := net.Dialer{Timeout: s.opts.DataTimeout, KeepAlive: -1}
	localIP := s.local.Addr()
	if target.Addr().Is4() {
		localIP = localIP.Unmap()
	}
	if lport > 0 {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(localIP, uint16(lport)))
		d.Control = reuseAddr
	}
	c, err := d.DialContext(ctx, "tcp", target.String())
	if err != nil && lport > 0 && isBindError(err) {
		if errors.Is(err, syscall.EACCES) && s.srv.activeWarned.CompareAndSwap(false, true) {
			s.log.Warn("not permitted to bind active data port; using ephemeral ports (run as root or grant CAP_NET_BIND_SERVICE)", "port", lport)
		}
		d.LocalAddr, d.Control = nil, nil
		c, err = d.DialContext(ctx, "tcp", target.String())
	}
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func isBindError(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EADDRINUSE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EPERM)
}

// maxDataHandshakes bounds the passive data connections one acceptor
// handshakes (or reads a PROXY header from) at once. Further connections
// wait in the listen queue until a slot frees.
const maxDataHandshakes = 4

// protectFunc turns an accepted data connection into the one the transfer
// body uses (TLS under PROT P) or refuses it with errDataTLS or errNoReuse.
type protectFunc func(ctx context.Context, c *net.TCPConn) (net.Conn, error)

var (
	// errDataTLS: the TLS handshake on a data connection failed.
	errDataTLS = errors.New("TLS handshake on the data connection failed")
	// errNoReuse: a data connection did not resume an acceptable TLS session.
	errNoReuse = errors.New("data connection did not resume an acceptable TLS session")
)

// dataConn is a data connection ready for a transfer body.
type dataConn struct {
	conn net.Conn     // what the body reads and writes
	tcp  *net.TCPConn // the socket under it
}

// acceptor waits for the client's data connection on a passive listener,
// in one goroutine per passive setup (plus at most maxDataHandshakes
// short-lived ones for handshakes). Connections from any other address
// than the control peer's are closed and waiting goes on; so are, under
// PROT P, connections whose TLS handshake fails or that resume no
// acceptable session: a thief who reaches the port first cannot end the
// real client's transfer. The first connection that passes is the data
// connection; the listener is closed then.
type acceptor struct {
	l       *net.TCPListener
	cancel  context.CancelFunc
	done    chan struct{} // closed once the acceptor and its handshakes have ended
	arrived chan struct{} // closed at the first connection from the client's address
	result  chan dataConn // the data connection (buffer of one)
	timeout time.Duration // DataTimeout, from the moment the transfer claims it
	hsLimit time.Duration // TLSHandshakeTimeout, from the later of arrival and claim

	claimed   context.Context // done once a transfer has claimed the acceptor
	markClaim context.CancelFunc

	mu       sync.Mutex
	err      error // why accepting ended, when no connection won
	won      bool
	arrival  bool
	tlsFails int // connections whose TLS handshake failed
	noReuse  int // connections that resumed no acceptable session
}

// startAcceptor starts accepting on l. Under PROT P (protect not nil) it
// starts at PASV/EPSV and waits without a deadline until a transfer claims
// it (claimed: at once), then for DataTimeout; each TLS handshake may take
// TLSHandshakeTimeout from the later of its arrival and the claim. It ends
// with the session, at the next PASV, PORT, ABOR, REIN or PROT change, or
// when the transfer that claimed it ends.
func (s *session) startAcceptor(l *net.TCPListener, protect protectFunc, claimed bool) *acceptor {
	ctx, cancel := context.WithCancel(s.ctx)
	a := &acceptor{l: l, cancel: cancel, done: make(chan struct{}), arrived: make(chan struct{}),
		result: make(chan dataConn, 1), timeout: s.opts.DataTimeout, hsLimit: s.opts.TLSHandshakeTimeout}
	a.claimed, a.markClaim = context.WithCancel(ctx)
	if claimed {
		a.claim()
	}
	go a.run(ctx, s.log, s.remote.Addr().Unmap(), s.opts, protect)
	return a
}

// claim starts the DataTimeout the client has to deliver its data
// connection, and the handshake timeout of connections already waiting:
// before its command a client may connect and stay silent (curl, lftp and
// ftplib start TLS only after the 150 reply).
func (a *acceptor) claim() {
	a.l.SetDeadline(time.Now().Add(a.timeout))
	a.markClaim()
}

func (a *acceptor) run(ctx context.Context, log *slog.Logger, peer netip.Addr, o *Options, protect protectFunc) {
	var wg sync.WaitGroup
	defer close(a.done)
	defer wg.Wait()
	defer a.l.Close()
	stop := context.AfterFunc(ctx, func() { a.l.Close() })
	defer stop()
	slots := make(chan struct{}, maxDataHandshakes)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			a.fail(ctx.Err())
			return
		}
		c, err := a.l.AcceptTCP()
		if err != nil {
			a.fail(err)
			return
		}
		if protect == nil && !trusted(o.ProxyProtocolFrom, addrPort(c.RemoteAddr()).Addr()) {
			// Nothing to wait for: check it here, without a goroutine.
			a.try(ctx, log, peer, o, nil, c)
			<-slots
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			a.try(ctx, log, peer, o, protect, c)
		}()
	}
}

// try checks one accepted connection and, when it passes, makes it the
// data connection.
func (a *acceptor) try(ctx context.Context, log *slog.Logger, peer netip.Addr, o *Options, protect protectFunc, c *net.TCPConn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	from := addrPort(c.RemoteAddr())
	if trusted(o.ProxyProtocolFrom, from.Addr()) {
		// Through the load balancer: its header names the real source.
		c.SetReadDeadline(time.Now().Add(o.DataTimeout))
		h, err := proxyproto.Read(c)
		c.SetReadDeadline(time.Time{})
		if err != nil || h.Local {
			log.Warn("dropped passive data connection with a bad PROXY header", "from", from.String(), "err", err)
			stop()
			c.Close()
			return
		}
		from = h.Src
	}
	if !o.AllowForeignPassive && from.Addr().Unmap() != peer {
		log.Warn("dropped passive data connection from a foreign address", "from", from.String())
		stop()
		c.Close()
		return
	}
	a.mu.Lock()
	if !a.arrival {
		a.arrival = true
		close(a.arrived)
	}
	a.mu.Unlock()
	var conn net.Conn = c
	if protect != nil {
		hctx, cancel := context.WithCancel(ctx)
		limit := context.AfterFunc(a.claimed, func() { time.AfterFunc(a.hsLimit, cancel) })
		var err error
		conn, err = protect(hctx, c)
		limit()
		cancel()
		if err != nil {
			stop()
			c.Close()
			a.mu.Lock()
			if errors.Is(err, errNoReuse) {
				a.noReuse++
			} else {
				a.tlsFails++
			}
			a.mu.Unlock()
			log.Warn("dropped passive data connection; still waiting for the client's", "from", from.String(), "err", err)
			return
		}
	}
	if !stop() {
		conn.Close() // the acceptor was stopped meanwhile
		return
	}
	a.mu.Lock()
	first := !a.won
	a.won = true
	a.mu.Unlock()
	if !first {
		conn.Close()
		return
	}
	a.result <- dataConn{conn: conn, tcp: c}
	a.cancel() // no more connections: close the listener, end other handshakes
}

// fail records why accepting ended.
func (a *acceptor) fail(err error) {
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.mu.Unlock()
}

// waitArrival waits until a connection from the client's address has
// arrived (the 150 reply may go out then) or accepting has ended.
func (a *acceptor) waitArrival(ctx context.Context) {
	select {
	case <-a.arrived:
	case <-a.done:
	case <-ctx.Done():
	}
}

// wait returns the data connection, or why there is none.
func (a *acceptor) wait(ctx context.Context) (dataConn, error) {
	select {
	case dc := <-a.result:
		return dc, nil
	case <-a.done:
		select {
		case dc := <-a.result:
			return dc, nil
		default:
		}
	case <-ctx.Done():
		return dataConn{}, ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.noReuse > 0:
		return dataConn{}, errNoReuse
	case a.tlsFails > 0:
		return dataConn{}, errDataTLS
	}
	return dataConn{}, a.err
}

// arrivedAny reports whether a connection from the client's address came.
func (a *acceptor) arrivedAny() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.arrival
}

// stop ends the acceptor and waits for its goroutines; a data connection
// it accepted that nobody took is closed.
func (a *acceptor) stop() {
	a.cancel()
	<-a.done
	select {
	case dc := <-a.result:
		dc.conn.Close()
	default:
	}
}
