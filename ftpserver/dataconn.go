package ftpserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/proxyproto"
)

var netipZero netip.AddrPort

// noKeepAlive makes data sockets without TCP keep-alive: they live for one
// transfer, and DataTimeout already covers a peer that goes away.
var noKeepAlive = net.ListenConfig{KeepAlive: -1}

// passive is a listener opened by PASV or EPSV for one data connection.
type passive struct {
	l *net.TCPListener
}

// closePassive closes an open passive listener.
func (s *session) closePassive() {
	s.xmu.Lock()
	p := s.pasv
	s.pasv = nil
	s.xmu.Unlock()
	if p != nil {
		p.l.Close()
	}
}

func (s *session) cmdPORT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := ftp.ParsePORT(arg)
	if err != nil {
		s.replyErr(err)
		return true
	}
	s.setActive(ap, "PORT")
	return true
}

func (s *session) cmdEPRT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := ftp.ParseEPRT(arg)
	if err != nil {
		s.replyErr(err)
		return true
	}
	s.setActive(ap, "EPRT")
	return true
}

func (s *session) activeAllowed() bool {
	switch {
	case s.epsvAll:
		s.reply(ftp.CodeBadSequence, "Only EPSV is allowed after EPSV ALL.")
		return false
	case s.opts.DisableActive:
		s.reply(ftp.CodeNotImplemented, "Active mode is disabled on this server; use PASV or EPSV.")
		return false
	}
	return true
}

// setActive checks an active-mode target against the RFC 2577 rules and
// remembers it for the next transfer.
func (s *session) setActive(ap netip.AddrPort, verb string) {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ap.Addr().IsUnspecified() {
		// lftp sends EPRT |2|::|port| over IPv6: "the address you see me
		// at". Taking it as the control peer cannot bounce anywhere.
		ap = netip.AddrPortFrom(s.remote.Addr().Unmap(), ap.Port())
	}
	if !s.opts.AllowForeignPORT && ap.Addr() != s.remote.Addr().Unmap() {
		s.log.Warn("refused "+verb+" to a foreign address", "target", ap.String())
		s.reply(ftp.CodeArgSyntax, verb+" refused: the address must be your own.")
		return
	}
	if !s.opts.AllowLowPORT && ap.Port() < 1024 {
		s.log.Warn("refused "+verb+" to a privileged port", "target", ap.String())
		s.reply(ftp.CodeArgSyntax, verb+" refused: ports below 1024 are not allowed.")
		return
	}
	s.closePassive()
	s.port = ap
	s.reply(ftp.CodeOK, verb+" command successful.")
}

func (s *session) cmdPASV(string) bool {
	if s.epsvAll {
		s.reply(ftp.CodeBadSequence, "Only EPSV is allowed after EPSV ALL.")
		return true
	}
	if !s.local.Addr().Unmap().Is4() {
		s.reply(ftp.CodeNotImplemented, "PASV works over IPv4 only; use EPSV.")
		return true
	}
	port, ok := s.openPassive()
	if !ok {
		return true
	}
	msg, err := ftp.FormatPASVReply(netip.AddrPortFrom(s.pasvAddr(), port))
	if err != nil {
		s.closePassive()
		s.replyErr(err)
		return true
	}
	s.reply(ftp.CodePassive, msg)
	return true
}

func (s *session) cmdEPSV(arg string) bool {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "":
	case "ALL":
		s.epsvAll = true
		s.reply(ftp.CodeOK, "EPSV ALL accepted; only EPSV from now on.")
		return true
	case "1", "2":
		want := "1"
		if !s.local.Addr().Unmap().Is4() {
			want = "2"
		}
		if arg != want {
			s.reply(ftp.CodeNetProtoNotSupported, "Network protocol not supported, use ("+want+")")
			return true
		}
	default:
		s.reply(ftp.CodeArgSyntax, "EPSV takes 1, 2, ALL or no argument.")
		return true
	}
	port, ok := s.openPassive()
	if !ok {
		return true
	}
	s.reply(ftp.CodeExtendedPassive, ftp.FormatEPSVReply(port))
	return true
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
// the control connection's local address. It replies itself on failure.
func (s *session) openPassive() (uint16, bool) {
	s.closePassive()
	s.port = netipZero
	// A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; listen on the plain IPv4 address.
	l, err := listenRandom(s.local.Addr().Unmap(), s.opts.PassivePortMin, s.opts.PassivePortMax)
	if err != nil {
		s.log.Error("cannot open passive port", "err", err)
		s.reply(ftp.CodeCantOpenData, "Cannot open passive data connection.")
		return 0, false
	}
	s.xmu.Lock()
	s.pasv = &passive{l: l}
	s.xmu.Unlock()
	return uint16(l.Addr().(*net.TCPAddr).Port), true
}

// listenRandom listens on a port drawn with crypto/rand from [min, max],
// probing onwards from it when ports are taken.
func listenRandom(ip netip.Addr, lo, hi int) (*net.TCPListener, error) {
	span := hi - lo + 1
	var b [8]byte
	rand.Read(b[:])
	start := int(binary.LittleEndian.Uint64(b[:]) % uint64(span))
	tries := min(span, 2048)
	var lastErr error
	for i := 0; i < tries; i++ {
		port := lo + (start+i)%span
		l, err := noKeepAlive.Listen(context.Background(), "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return l.(*net.TCPListener), nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EACCES) {
			return nil, err
		}
	}
	return nil, errors.New("no free port in passive range " + strconv.Itoa(lo) + "-" + strconv.Itoa(hi) + ": " + lastErr.Error())
}

// takeDataSetup hands the pending data-connection setup to a transfer and
// clears it from the session: each PASV/EPSV/PORT/EPRT serves one transfer.
func (s *session) takeDataSetup() (*passive, netip.AddrPort, bool) {
	s.xmu.Lock()
	p := s.pasv
	s.pasv = nil
	s.xmu.Unlock()
	port := s.port
	s.port = netipZero
	return p, port, p != nil || port.IsValid()
}

// accept waits for the client's data connection on a passive listener.
// Connections from any other address are closed and waiting goes on.
// Connections from a trusted load balancer are read for a PROXY header,
// each in its own goroutine so one silent connection cannot hold up others.
func (s *session) accept(ctx context.Context, p *passive) (*net.TCPConn, error) {
	defer p.l.Close()
	deadline := time.Now().Add(s.opts.DataTimeout)
	p.l.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { p.l.Close() })
	defer stop()
	peer := s.remote.Addr().Unmap()

	type arrival struct {
		c    *net.TCPConn
		from netip.AddrPort
		err  error
	}
	arrivals := make(chan arrival)
	done := make(chan struct{})
	defer close(done)
	deliver := func(a arrival) {
		select {
		case arrivals <- a:
		case <-done:
			if a.c != nil {
				a.c.Close()
			}
		}
	}
	go func() {
		for {
			c, err := p.l.AcceptTCP()
			if err != nil {
				deliver(arrival{err: err})
				return
			}
			from := addrPort(c.RemoteAddr())
			if !trusted(s.opts.ProxyProtocolFrom, from.Addr()) {
				deliver(arrival{c: c, from: from})
				continue
			}
			go func() {
				// Through the load balancer: its header names the real source.
				c.SetReadDeadline(deadline)
				h, err := proxyproto.Read(c)
				c.SetReadDeadline(time.Time{})
				if err != nil || h.Local {
					s.log.Warn("dropped passive data connection with a bad PROXY header", "from", from.String(), "err", err)
					c.Close()
					return
				}
				deliver(arrival{c: c, from: h.Src})
			}()
		}
	}()
	for {
		a := <-arrivals
		if a.err != nil {
			return nil, a.err
		}
		if !s.opts.AllowForeignPassive && a.from.Addr().Unmap() != peer {
			s.log.Warn("dropped passive data connection from a foreign address", "from", a.from.String())
			a.c.Close()
			continue
		}
		return a.c, nil
	}
}

// acceptPending returns the client's data connection when it is already
// waiting on the passive listener (clients connect right after the 227/229
// reply), or nil, leaving the listener to the normal accept.
func (s *session) acceptPending(p *passive) *net.TCPConn {
	if len(s.opts.ProxyProtocolFrom) > 0 {
		return nil // a header may still be on its way: use the normal path
	}
	p.l.SetDeadline(time.Now().Add(time.Millisecond))
	c, err := p.l.AcceptTCP()
	p.l.SetDeadline(time.Time{})
	if err != nil {
		return nil
	}
	if !s.opts.AllowForeignPassive && addrPort(c.RemoteAddr()).Addr().Unmap() != s.remote.Addr().Unmap() {
		s.log.Warn("dropped passive data connection from a foreign address", "from", c.RemoteAddr().String())
		c.Close()
		return nil
	}
	p.l.Close()
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
