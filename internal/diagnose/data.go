package diagnose

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// dataMode is one way to set up a data connection.
type dataMode struct {
	verb       string // PASV, EPSV, PORT or EPRT
	useControl bool   // PASV: connect to the control address, not the announced one
}

func (m dataMode) String() string {
	if m.useControl {
		return m.verb + " (control address)"
	}
	return m.verb
}

func (m dataMode) active() bool { return m.verb == "PORT" || m.verb == "EPRT" }

// probe is the outcome of one data command over one data mode.
type probe struct {
	mode      dataMode
	setup     ftp.Reply      // reply to PASV/EPSV/PORT/EPRT
	announced netip.AddrPort // passive: the server's address; active: ours
	target    netip.AddrPort // passive: where we connected
	echoed    netip.AddrPort // active: an address in the PORT reply's text
	dialErr   error          // passive: the data connection failed
	acceptErr error          // active: the server did not connect
	peer      netip.AddrPort // active: where the server connected from
	cmdRep    ftp.Reply      // a negative reply to the data command
	tlsErr    error
	resumed   bool
	// dropped: the server closed a TLS data connection before sending a
	// byte (ferry does this to one that does not resume the session, and
	// keeps waiting for one that does).
	dropped bool
	tlsVer  uint16
	final   ftp.Reply
	data    []byte
	err     error // the control connection broke or went out of step
}

func (p *probe) ok() bool {
	return p.err == nil && p.dialErr == nil && p.acceptErr == nil && p.tlsErr == nil &&
		p.cmdRep.Code == 0 && p.final.Code/100 == 2
}

func (p *probe) setupOK() bool {
	return p.setup.Code == ftp.CodePassive || p.setup.Code == ftp.CodeExtendedPassive ||
		(p.setup.Code/100 == 2 && p.mode.active())
}

// run sends the mode's set-up command and then line, moves data over the
// data connection (upload when up is not nil, else download) and reads
// the final reply. conf protects the data connection when PROT P is on.
// After p.err the caller must drop the session.
func (r *runner) run(ctx context.Context, c *ctrl, m dataMode, line string, up []byte, conf *tls.Config) *probe {
	p := &probe{mode: m}
	if m.active() {
		r.runActive(ctx, c, p, line, up, conf)
	} else {
		r.runPassive(ctx, c, p, line, up, conf)
	}
	return p
}

func (r *runner) runPassive(ctx context.Context, c *ctrl, p *probe, line string, up []byte, conf *tls.Config) {
	p.setup, p.err = c.cmd(ctx, p.mode.verb)
	if p.err != nil {
		return
	}
	var err error
	switch {
	case p.mode.verb == "PASV" && p.setup.Code == ftp.CodePassive:
		p.announced, err = ftp.ParsePASVReply(p.setup.Message())
	case p.mode.verb == "EPSV" && p.setup.Code == ftp.CodeExtendedPassive:
		var port uint16
		port, err = ftp.ParseEPSVReply(p.setup.Message())
		p.announced = netip.AddrPortFrom(c.remote.Addr(), port)
	default:
		return
	}
	if err != nil {
		p.setup.Code = 0 // unusable
		p.setup.Lines = []string{"unparsable reply: " + p.setup.Message()}
		return
	}
	p.target = p.announced
	if p.mode.useControl {
		p.target = netip.AddrPortFrom(c.remote.Addr(), p.announced.Port())
	}
	d := net.Dialer{Timeout: r.o.DataTimeout}
	conn, err := d.DialContext(ctx, "tcp", p.target.String())
	if err != nil {
		p.dialErr = ctxErr(ctx, err)
		return
	}
	defer conn.Close()
	if p.cmdRep, p.err = c.cmd(ctx, line); p.err != nil {
		return
	}
	switch p.cmdRep.Code / 100 {
	case 1:
		p.cmdRep = ftp.Reply{}
	case 2:
		p.final, p.cmdRep = p.cmdRep, ftp.Reply{}
		return
	default:
		return
	}
	r.transfer(ctx, c, p, conn, up, conf)
}

func (r *runner) runActive(ctx context.Context, c *ctrl, p *probe, line string, up []byte, conf *tls.Config) {
	ip := r.o.ActiveAddr
	if !ip.IsValid() {
		ip = c.local.Addr()
	}
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		p.acceptErr = err
		return
	}
	defer ln.Close()
	p.announced = netip.AddrPortFrom(ip, uint16(ln.Addr().(*net.TCPAddr).Port))
	arg := ftp.FormatEPRT(p.announced)
	if p.mode.verb == "PORT" {
		if arg, err = ftp.FormatPORT(p.announced); err != nil {
			p.setup = ftp.Reply{Lines: []string{"PORT needs IPv4; the control connection is IPv6"}}
			return
		}
	}
	if p.setup, p.err = c.cmd(ctx, p.mode.verb+" "+arg); p.err != nil || p.setup.Code/100 != 2 {
		return
	}
	if ap, err := ftp.ParsePASVReply(p.setup.Message()); err == nil && ap != p.announced {
		p.echoed = ap
	}
	type accepted struct {
		conn net.Conn
		err  error
	}
	ch := make(chan accepted, 1)
	ln.SetDeadline(time.Now().Add(r.o.ActiveTimeout))
	go func() {
		for {
			conn, err := ln.Accept()
			if err == nil && addrPortOf(conn.RemoteAddr()).Addr() != c.remote.Addr() {
				conn.Close() // only the server may connect (RFC 2577)
				continue
			}
			if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				// No connection in time: stop waiting for the reply too
				// (servers that reply 150 only once connected say nothing).
				c.conn.SetReadDeadline(time.Unix(1, 0))
			}
			ch <- accepted{conn, err}
			return
		}
	}()
	wait := func() accepted {
		select {
		case a := <-ch:
			return a
		case <-ctx.Done():
			ln.Close()
			return <-ch
		}
	}
	if err := c.send(ctx, line); err != nil {
		p.err = err
		ln.Close()
		wait()
		return
	}
	rep, err := c.read(ctx, r.o.ActiveTimeout+r.o.CommandTimeout)
	if err != nil {
		// Servers that reply 150 only once connected (ferry, vsftpd) say
		// nothing while their connection attempt hangs.
		p.err = err
		ln.Close()
		if a := wait(); a.conn != nil {
			a.conn.Close()
		} else {
			p.acceptErr = ctxErr(ctx, a.err)
		}
		return
	}
	switch rep.Code / 100 {
	case 1:
	case 2:
		p.final = rep
		ln.Close()
		if a := wait(); a.conn != nil {
			a.conn.Close()
		}
		return
	default:
		p.cmdRep = rep
		ln.Close()
		if a := wait(); a.conn != nil {
			a.conn.Close()
		} else {
			p.acceptErr = ctxErr(ctx, a.err)
		}
		return
	}
	a := wait()
	if a.err != nil {
		// The server is still trying (or gave up without telling yet):
		// the session is out of step.
		p.acceptErr = ctxErr(ctx, a.err)
		p.err = a.err
		return
	}
	defer a.conn.Close()
	p.peer = addrPortOf(a.conn.RemoteAddr())
	r.transfer(ctx, c, p, a.conn, up, conf)
}

// transfer moves the data and reads the final reply.
func (r *runner) transfer(ctx context.Context, c *ctrl, p *probe, conn net.Conn, up []byte, conf *tls.Config) {
	if conf != nil {
		tc := tls.Client(conn, conf)
		hctx, cancel := context.WithTimeout(ctx, r.o.DataTimeout+r.o.CommandTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			p.tlsErr = ctxErr(ctx, err)
			conn.Close()
			p.final, p.err = c.read(ctx, 0)
			return
		}
		st := tc.ConnectionState()
		p.resumed, p.tlsVer = st.DidResume, st.Version
		conn = tc
	}
	conn.SetDeadline(time.Now().Add(r.o.CommandTimeout + r.o.ActiveTimeout))
	if up != nil {
		conn.Write(up)
	} else {
		var b bytes.Buffer
		io.Copy(&b, io.LimitReader(conn, 8<<20))
		p.data = b.Bytes()
		p.dropped = conf != nil && len(p.data) == 0
	}
	conn.Close()
	p.final, p.err = c.read(ctx, 0)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// unroutable reports addresses that do not work across the internet.
func unroutable(ip netip.Addr) bool {
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || cgnat.Contains(ip)
}
