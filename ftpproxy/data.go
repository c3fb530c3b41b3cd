package ftpproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/dataport"
	"github.com/ferryftp/ferry/internal/proxyproto"
)

// dataSetup is the state of one PORT/EPRT/PASV/EPSV from the client: how
// the proxy reaches each side for the next transfer.
type dataSetup struct {
	clientVerb    string
	clientPassive bool             // PASV or EPSV: the proxy listens on clientLn
	clientLn      *net.TCPListener // client passive, until the transfer takes it
	clientTarget  netip.AddrPort   // client active: the proxy connects
	serverLn      *net.TCPListener // server active
	serverTarget  netip.AddrPort   // server passive

	// early is the connection to the server's passive port, dialed as soon
	// as the server announced it (as curl and most clients do), so the
	// transfer command does not wait for a connect. mu guards it and
	// clientLn from the transfer on: a transfer takes them while an ABOR
	// may close the setup.
	mu    sync.Mutex
	early chan earlyDial
}

// earlyDial is the result of dialing the server's passive port.
type earlyDial struct {
	c   net.Conn
	err error
}

func (d *dataSetup) close() {
	if ln := d.takeClientLn(); ln != nil {
		ln.Close()
	}
	if d.serverLn != nil {
		d.serverLn.Close()
	}
	discardEarly(d.takeEarly()) // a setup no transfer used
}

// discardEarly closes the connection of an early dial nobody will use,
// once the dial is done; ch may be nil.
func discardEarly(ch chan earlyDial) {
	if ch == nil {
		return
	}
	go func() {
		if r := <-ch; r.c != nil {
			r.c.Close()
		}
	}()
}

// takeClientLn returns the client-side listener, which the caller now owns
// (close no longer closes it), or nil.
func (d *dataSetup) takeClientLn() *net.TCPListener {
	d.mu.Lock()
	defer d.mu.Unlock()
	ln := d.clientLn
	d.clientLn = nil
	return ln
}

// takeEarly returns the channel of the early dial, which the caller now
// owns (close no longer closes it).
func (d *dataSetup) takeEarly() chan earlyDial {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := d.early
	d.early = nil
	return ch
}

func (d *dataSetup) clientMode() string {
	if d.clientPassive {
		return "passive"
	}
	return "active"
}

func (d *dataSetup) serverMode() string {
	if d.serverLn != nil {
		return "active"
	}
	return "passive"
}

// replaceSetup installs a new data setup, closing the previous one.
func (s *session) replaceSetup(d *dataSetup) {
	s.mu.Lock()
	old := s.setup
	s.setup = d
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// clientPassive handles PASV and EPSV from the client.
func (s *session) clientPassive(cmd ftp.Command) {
	s.mu.Lock()
	epsvAll := s.epsvAll
	s.mu.Unlock()
	local := s.clientLocal.Addr()
	if cmd.Verb == "PASV" {
		if epsvAll {
			s.reply(ftp.CodeBadSequence, "EPSV ALL in effect, use EPSV.")
			return
		}
		if !local.Is4() {
			s.reply(ftp.CodeCantOpenData, "Use EPSV on IPv6.")
			return
		}
	} else {
		switch strings.TrimSpace(cmd.Arg) {
		case "":
		case "1", "2":
			if (cmd.Arg == "1") != local.Is4() {
				s.reply(ftp.CodeNetProtoNotSupported, "Network protocol not supported, use ("+family(local)+")")
				return
			}
		default:
			s.reply(ftp.CodeArgSyntax, "Syntax error in EPSV argument.")
			return
		}
	}
	s.replaceSetup(nil)
	ln := s.reuseKept()
	if ln == nil {
		var err error
		ln, err = dataport.Listen(local, s.p.opts.DataPortMin, s.p.opts.DataPortMax)
		if err != nil {
			s.log.Warn("cannot open client-side data listener", "err", err)
			s.reply(ftp.CodeCantOpenData, "Cannot open data connection.")
			return
		}
	}
	d := &dataSetup{clientVerb: cmd.Verb, clientPassive: true, clientLn: ln}
	s.serverSide(d)
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "1"
	}
	return "2"
}

// clientActive handles PORT and EPRT from the client.
func (s *session) clientActive(cmd ftp.Command) {
	s.mu.Lock()
	epsvAll := s.epsvAll
	s.mu.Unlock()
	if epsvAll {
		s.reply(ftp.CodeBadSequence, "EPSV ALL in effect, use EPSV.")
		return
	}
	ap, err := activeTarget(cmd.Verb, cmd.Arg, s.clientAddr.Addr())
	if err != nil {
		s.log.Warn(cmd.Verb+" refused", "client", s.clientAddr.String(), "arg", cmd.Arg, "err", err)
		s.reply(err.Code, err.Message)
		return
	}
	s.replaceSetup(nil)
	s.serverSide(&dataSetup{clientVerb: cmd.Verb, clientTarget: ap})
}

// serverSide sends the server-facing data command for d.
func (s *session) serverSide(d *dataSetup) {
	o := &s.p.opts
	passive := o.ServerData == DataPassive || o.ServerData == DataSame && d.clientPassive
	if passive {
		s.mu.Lock()
		noEPSV := s.noEPSV || o.NoEPSV
		s.mu.Unlock()
		verb := "EPSV"
		if noEPSV && s.serverAddr.Addr().Is4() {
			verb = "PASV"
		}
		s.send(&pending{verb: d.clientVerb, kind: kData, sent: verb, setup: d}, verb)
		return
	}
	ln, err := dataport.Listen(s.serverLocal.Addr(), o.DataPortMin, o.DataPortMax)
	if err != nil {
		d.close()
		s.log.Warn("cannot open server-side data listener", "err", err)
		s.reply(ftp.CodeCantOpenData, "Cannot open data connection.")
		return
	}
	d.serverLn = ln
	ap := addrPortOf(ln.Addr())
	if s.serverAddr.Addr().Is4() {
		arg, _ := ftp.FormatPORT(ap)
		s.send(&pending{verb: d.clientVerb, kind: kData, sent: "PORT", setup: d}, "PORT "+arg)
	} else {
		s.send(&pending{verb: d.clientVerb, kind: kData, sent: "EPRT", setup: d}, "EPRT "+ftp.FormatEPRT(ap))
	}
}

// dataReply checks the server's reply to a data command and answers the
// client in the client's own form.
func (s *session) dataReply(pe *pending, rep ftp.Reply) (code int, msg string, forward bool) {
	d := pe.setup
	fail := func(code int, msg string) (int, string, bool) {
		d.close()
		return code, msg, true
	}
	switch pe.sent {
	case "EPSV", "PASV":
		want := ftp.CodeExtendedPassive
		if pe.sent == "PASV" {
			want = ftp.CodePassive
		}
		if rep.Code != want {
			if pe.sent == "EPSV" && ftp.IsPermanentNegative(rep.Code) && s.serverAddr.Addr().Is4() {
				// RFC 6384 fall-back: an IPv4 server without EPSV.
				s.mu.Lock()
				s.noEPSV = true
				s.mu.Unlock()
				s.smu.Lock()
				s.mu.Lock()
				alone := len(s.pending) == 0
				s.mu.Unlock()
				if alone {
					err := s.sendLocked(&pending{verb: pe.verb, kind: kData, sent: "PASV", setup: d}, "PASV")
					s.smu.Unlock()
					if err != nil {
						return fail(ftp.CodeCantOpenData, "Cannot open data connection.")
					}
					return 0, "", false
				}
				s.smu.Unlock()
			}
			if !ftp.IsNegative(rep.Code) {
				s.log.Warn("unexpected reply to "+pe.sent, "server", s.serverAddr.String(), "code", rep.Code)
				return fail(ftp.CodeCantOpenData, "Cannot open data connection.")
			}
			return fail(rep.Code, rep.Message())
		}
		target, err := passiveTarget(pe.sent, rep.Message(), s.serverAddr.Addr(), s.p.opts.UseControlIPForPASV)
		if err != nil {
			s.log.Warn("passive reply refused", "server", s.serverAddr.String(), "reply", rep.Code, "err", err)
			return fail(ftp.CodeCantOpenData, "Cannot open data connection.")
		}
		d.serverTarget = target
		ch := make(chan earlyDial, 1)
		d.mu.Lock()
		d.early = ch
		d.mu.Unlock()
		go func() {
			deadline := time.Now().Add(s.p.opts.DataTimeout)
			c, err := s.dialServerData(context.Background(), target, deadline)
			ch <- earlyDial{c, err}
		}()
	default: // PORT, EPRT
		if rep.Code != ftp.CodeOK {
			if !ftp.IsNegative(rep.Code) {
				return fail(ftp.CodeCantOpenData, "Cannot open data connection.")
			}
			return fail(rep.Code, rep.Message())
		}
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.setup = d
	}
	s.mu.Unlock()
	if closed {
		d.close()
	}
	s.p.stats.rewrote(d.clientVerb)
	d.mu.Lock()
	ln := d.clientLn
	d.mu.Unlock()
	switch {
	case !d.clientPassive:
		return ftp.CodeOK, d.clientVerb + " command successful.", true
	case ln == nil: // closed meanwhile (session end)
		return ftp.CodeCantOpenData, "Cannot open data connection.", true
	case d.clientVerb == "PASV":
		m, err := ftp.FormatPASVReply(netip.AddrPortFrom(s.clientLocal.Addr(), addrPortOf(ln.Addr()).Port()))
		if err != nil {
			return fail(ftp.CodeCantOpenData, "Cannot open data connection.")
		}
		return ftp.CodePassive, m, true
	default:
		return ftp.CodeExtendedPassive, ftp.FormatEPSVReply(addrPortOf(ln.Addr()).Port()), true
	}
}

// transfer is one data transfer through the proxy.
type transfer struct {
	s        *session
	d        *dataSetup
	verb     string
	arg      string
	download bool

	ctx      context.Context
	stop     context.CancelFunc
	mu       sync.Mutex
	conns    []net.Conn
	canceled bool
	done     chan struct{}
	ready    chan struct{} // closed once both data connections are up
	bytes    int64
	err      error
}

// startTransfer forwards a transfer command and starts its data path.
func (s *session) startTransfer(cmd ftp.Command) {
	s.mu.Lock()
	d := s.setup
	s.setup = nil
	prot := s.clientProt
	s.mu.Unlock()
	if s.p.opts.RequireClientTLS && !prot {
		if d != nil {
			d.close()
		}
		s.reply(ftp.CodeProtectionRequired, "Data connections must be protected (PROT P).")
		return
	}
	if d == nil {
		s.reply(ftp.CodeCantOpenData, "Use PORT, EPRT, PASV or EPSV first.")
		return
	}
	x := &transfer{
		s: s, d: d, verb: cmd.Verb, arg: cmd.Arg,
		download: cmd.Verb != "STOR" && cmd.Verb != "STOU" && cmd.Verb != "APPE",
		done:     make(chan struct{}),
		ready:    make(chan struct{}),
	}
	x.ctx, x.stop = context.WithCancel(context.Background())
	s.mu.Lock()
	s.xfer = x
	s.mu.Unlock()
	go x.run(prot)
	line := cmd.Verb
	if cmd.Arg != "" {
		line += " " + cmd.Arg
	}
	s.send(&pending{verb: cmd.Verb, kind: kTransfer, xfer: x}, line)
}

func (x *transfer) track(c net.Conn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.canceled {
		c.Close()
		return false
	}
	x.conns = append(x.conns, c)
	return true
}

// cancel closes the data path (ABOR, failed transfer, session end).
func (x *transfer) cancel() {
	x.mu.Lock()
	x.canceled = true
	conns := x.conns
	x.conns = nil
	x.mu.Unlock()
	x.stop()
	x.d.close()
	for _, c := range conns {
		c.Close()
	}
}

// finish is called with the server's final reply to the transfer command:
// it cancels the data path on a negative reply; otherwise it waits for the
// data to be delivered before the reply is forwarded. Waiting for the data
// connections is bounded by DataTimeout; once both are up, the copy runs to
// its end (the server has finished; what remains is buffered data the client
// is reading), unless the client aborts or the session ends.
func (x *transfer) finish(code int) {
	if ftp.IsNegative(code) {
		x.cancel()
	}
	t := time.NewTimer(x.s.p.opts.DataTimeout)
	defer t.Stop()
	select {
	case <-x.done:
		return
	case <-x.ready:
	case <-t.C:
		x.cancel()
	}
	<-x.done
}

func (x *transfer) run(prot bool) {
	s, o := x.s, &x.s.p.opts
	start := time.Now()
	defer close(x.done)
	defer x.stop()
	deadline := start.Add(o.DataTimeout)
	var cc, sc net.Conn
	var cerr, serr error
	if x.serverSideWaits() {
		// Accepting from the server or a TLS handshake with it: both sides
		// at once.
		var wg sync.WaitGroup
		wg.Go(func() { sc, serr = x.serverConn(deadline) })
		cc, cerr = x.clientConn(deadline, prot)
		wg.Wait()
	} else {
		// The dial to the server's passive port started with the passive
		// reply: take its result once the client is there (or not).
		cc, cerr = x.clientConn(deadline, prot)
		if cerr == nil {
			sc, serr = x.serverConn(deadline)
		}
	}
	x.d.close()
	var n int64
	err := errors.Join(cerr, serr)
	if err == nil {
		close(x.ready)
		if x.download {
			n, err = s.p.relay(x.ctx, cc, sc)
		} else {
			n, err = s.p.relay(x.ctx, sc, cc)
		}
	}
	// Close the receiving side first and cleanly, so TLS sends close_notify.
	for _, c := range []net.Conn{cc, sc} {
		if c != nil {
			c.Close()
		}
	}
	x.mu.Lock()
	canceled := x.canceled
	x.mu.Unlock()
	if canceled && err != nil {
		err = errors.New("aborted")
	}
	x.bytes, x.err = n, err
	s.transfers.Add(1)
	s.p.stats.relayed(x.download, n)
	if x.download {
		s.down.Add(n)
	} else {
		s.up.Add(n)
	}
	dir := "download"
	if !x.download {
		dir = "upload"
	}
	attrs := []any{"client", s.clientAddr.String(), "server", s.serverAddr.String(), "user", s.userName(),
		"command", x.verb, "path", x.arg, "direction", dir, "bytes", n,
		"client_mode", x.d.clientMode(), "server_mode", x.d.serverMode(),
		"client_tls", prot, "server_tls", o.BackendTLSMode != TLSOff,
		"duration", time.Since(start).Round(time.Microsecond).String()}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	s.log.Info("transfer", attrs...)
}

// clientConn accepts from or dials the client and adds TLS when PROT P.
func (x *transfer) clientConn(deadline time.Time, prot bool) (net.Conn, error) {
	s, o := x.s, &x.s.p.opts
	var c net.Conn
	var err error
	if x.d.clientPassive {
		// The listener stays in the setup while it accepts, for an ABOR
		// to close; once the client is there, it is kept for the
		// session's next PASV/EPSV.
		x.d.mu.Lock()
		ln := x.d.clientLn
		x.d.mu.Unlock()
		if ln == nil {
			return nil, errors.New("aborted")
		}
		c, err = x.acceptFrom(ln, s.clientAddr.Addr(), deadline, "client")
		if err == nil {
			if ln := x.d.takeClientLn(); ln != nil {
				s.keepListener(ln)
			}
		}
	} else {
		c, err = dial(x.ctx, s.clientLocal.Addr(), o.ActiveSourcePort, x.d.clientTarget, deadline)
	}
	if err != nil {
		return nil, err
	}
	if !x.track(c) {
		return nil, errors.New("aborted")
	}
	if !prot {
		return c, nil
	}
	return handshake(tls.Server(c, s.clientTLSConfig()), deadline)
}

// serverSideWaits reports whether setting up the server's side of the data
// path can take as long as the client's (an accept, a TLS handshake, a
// dial not started yet) rather than collecting an early dial's result.
func (x *transfer) serverSideWaits() bool {
	x.d.mu.Lock()
	early := x.d.early != nil
	x.d.mu.Unlock()
	return x.d.serverLn != nil || !early || x.s.p.opts.BackendTLSMode != TLSOff
}

// serverConn accepts from or dials the server and adds TLS when the
// backend side is protected.
func (x *transfer) serverConn(deadline time.Time) (net.Conn, error) {
	s, o := x.s, &x.s.p.opts
	var c net.Conn
	var err error
	if x.d.serverLn != nil {
		c, err = x.acceptFrom(x.d.serverLn, s.serverAddr.Addr(), deadline, "server")
		x.d.serverLn.Close()
	} else if ch := x.d.takeEarly(); ch != nil {
		select {
		case r := <-ch:
			c, err = r.c, r.err
		case <-x.ctx.Done(): // cancelled while the dial ran
			discardEarly(ch)
			return nil, errors.New("aborted")
		}
	} else {
		c, err = s.dialServerData(x.ctx, x.d.serverTarget, deadline)
	}
	if err != nil {
		return nil, err
	}
	if !x.track(c) {
		return nil, errors.New("aborted")
	}
	if o.BackendTLSMode == TLSOff {
		return c, nil
	}
	return handshake(tls.Client(c, s.backendTLSConfig()), deadline)
}

// handshake runs a data connection's TLS handshake, bounded by deadline,
// and closes the connection when it fails.
func handshake(tc *tls.Conn, deadline time.Time) (net.Conn, error) {
	tc.SetDeadline(deadline)
	if err := tc.Handshake(); err != nil {
		tc.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// dialServerData connects to the server's passive data port, with the
// PROXY header the server expects when the proxy sends them.
func (s *session) dialServerData(ctx context.Context, target netip.AddrPort, deadline time.Time) (net.Conn, error) {
	o := &s.p.opts
	c, err := dial(ctx, s.serverLocal.Addr(), 0, target, deadline)
	if err == nil && o.ProxyProtocol != 0 {
		// The server checks that a passive data connection comes from the
		// client of the control connection: name it, as on the control
		// connection.
		if _, err = c.Write(proxyproto.Append(nil, o.ProxyProtocol, s.clientAddr, target)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

// acceptFrom accepts the one connection from ip; connections from other
// addresses (port stealing) are closed and the listener keeps waiting. The
// caller closes or keeps ln. A connection already queued (the usual case:
// clients connect on the passive reply, before their transfer command) is
// taken without arming a deadline.
func (x *transfer) acceptFrom(ln *net.TCPListener, ip netip.Addr, deadline time.Time, side string) (net.Conn, error) {
	timed := false
	for {
		if !timed && !dataport.Ready(ln) {
			ln.SetDeadline(deadline)
			timed = true
		}
		c, err := ln.AcceptTCP()
		if err != nil {
			return nil, err
		}
		from := addrPortOf(c.RemoteAddr())
		if from.Addr() == ip {
			if timed {
				ln.SetDeadline(time.Time{})
			}
			return c, nil
		}
		x.s.log.Warn("data connection from a foreign address dropped", "side", side, "from", from.String(), "want", ip.String())
		c.Close()
	}
}

// dial connects from local (port lport, 0 for any) to target.
func dial(ctx context.Context, local netip.Addr, lport int, target netip.AddrPort, deadline time.Time) (net.Conn, error) {
	// No keep-alive: a data connection lives for one transfer, and the
	// probes' socket options are four system calls per transfer.
	d := net.Dialer{Deadline: deadline, LocalAddr: &net.TCPAddr{IP: local.AsSlice(), Port: lport}, Control: bindNoPort, KeepAlive: -1}
	if lport != 0 {
		d.Control = reuseAddr
	}
	c, err := d.DialContext(ctx, "tcp", target.String())
	if err != nil && lport != 0 {
		d.LocalAddr, d.Control = &net.TCPAddr{IP: local.AsSlice()}, bindNoPort
		c, err = d.DialContext(ctx, "tcp", target.String())
	}
	return c, err
}

// activeTarget parses a client's PORT or EPRT argument and applies RFC 2577:
// the address must be the client's own (no bounce) and the port 1024 or
// higher.
func activeTarget(verb, arg string, client netip.Addr) (netip.AddrPort, *ftp.Error) {
	var ap netip.AddrPort
	var err error
	if verb == "PORT" {
		ap, err = ftp.ParsePORT(arg)
	} else {
		ap, err = ftp.ParseEPRT(arg)
	}
	if err != nil {
		var fe *ftp.Error
		if errors.As(err, &fe) {
			return ap, fe
		}
		return ap, &ftp.Error{Code: ftp.CodeArgSyntax, Message: "Syntax error in argument."}
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr() != client.Unmap() {
		return ap, &ftp.Error{Code: ftp.CodeArgSyntax, Message: "Data address must be your own."}
	}
	if ap.Port() < 1024 {
		return ap, &ftp.Error{Code: ftp.CodeArgSyntax, Message: "Data port must be 1024 or higher."}
	}
	return ap, nil
}

// passiveTarget extracts the server's data address from the text of its
// 229 (sent EPSV) or 227 (sent PASV) reply: the address must be the
// server's control address (unless useControlIP substitutes it) and the port
// 1024 or higher.
func passiveTarget(sent, msg string, server netip.Addr, useControlIP bool) (netip.AddrPort, error) {
	server = server.Unmap()
	var target netip.AddrPort
	if sent == "EPSV" {
		port, err := ftp.ParseEPSVReply(msg)
		if err != nil {
			return target, err
		}
		target = netip.AddrPortFrom(server, port)
	} else {
		ap, err := ftp.ParsePASVReply(msg)
		if err != nil {
			return target, err
		}
		if ap.Addr() != server {
			if !useControlIP {
				return target, fmt.Errorf("227 names %s, not the server %s", ap.Addr(), server)
			}
			ap = netip.AddrPortFrom(server, ap.Port())
		}
		target = ap
	}
	if target.Port() < 1024 {
		return target, fmt.Errorf("passive reply names low port %d", target.Port())
	}
	return target, nil
}
