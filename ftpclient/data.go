package ftpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// dataSetup is a prepared data connection: dialled (passive) or listening
// (active).
type dataSetup struct {
	conn net.Conn
	ln   net.Listener
}

func (d *dataSetup) close() {
	if d.conn != nil {
		d.conn.Close()
	}
	if d.ln != nil {
		d.ln.Close()
	}
}

// open returns the data connection, accepting it in active mode.
func (d *dataSetup) open(ctx context.Context, timeout time.Duration, want netip.Addr) (net.Conn, error) {
	if d.conn != nil {
		return d.conn, nil
	}
	dl := time.Now().Add(timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	tl := d.ln.(*net.TCPListener)
	tl.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { tl.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		conn, err := tl.Accept()
		if err != nil {
			return nil, fmt.Errorf("ftpclient: waiting for the server's data connection: %w", ctxErr(ctx, err))
		}
		// Only the server may connect (RFC 2577).
		if addrOf(conn.RemoteAddr()) != want {
			conn.Close()
			continue
		}
		d.conn = conn
		d.ln.Close()
		d.ln = nil
		return conn, nil
	}
}

// prepareData sets up a data connection with EPSV/PASV or EPRT/PORT.
func (c *Conn) prepareData(ctx context.Context) (*dataSetup, error) {
	if c.opts.Active {
		return c.prepareActive(ctx)
	}
	var target netip.AddrPort
	viaEPSV := false
	if !c.opts.DisableEPSV && !c.noEPSV {
		rep, err := c.cmd(ctx, "EPSV")
		if err != nil {
			return nil, err
		}
		if rep.Code == ftp.CodeExtendedPassive {
			port, err := ftp.ParseEPSVReply(rep.Message())
			if err != nil {
				return nil, c.fail(err)
			}
			target = netip.AddrPortFrom(c.remoteIP, port)
			viaEPSV = true
		} else if rep.Code/100 == 5 {
			c.noEPSV = true
		} else {
			return nil, fmt.Errorf("ftpclient: EPSV: %w", replyErr(rep))
		}
	}
	if !target.IsValid() {
		rep, err := c.expect(ctx, 2, "PASV")
		if err != nil {
			return nil, err
		}
		ap, err := ftp.ParsePASVReply(rep.Message())
		if err != nil {
			return nil, c.fail(err)
		}
		target = c.fixPASV(ap)
	}
	dctx, cancel := context.WithTimeout(ctx, c.opts.timeout())
	defer cancel()
	conn, err := c.opts.dialData(dctx, target.String())
	if err != nil {
		return nil, fmt.Errorf("ftpclient: data connection to %s: %w", target, ctxErr(ctx, err))
	}
	// An EPSV data connection has worked end to end: later transfers may
	// pipeline (a firewalled passive range shows up here, not in them).
	c.epsvOK = c.epsvOK || viaEPSV
	return &dataSetup{conn: conn}, nil
}

// fixPASV applies the PASV address policy.
func (c *Conn) fixPASV(ap netip.AddrPort) netip.AddrPort {
	ip := ap.Addr()
	switch c.opts.PASVAddr {
	case PASVAddrTrust:
		return ap
	case PASVAddrUseControl:
		return netip.AddrPortFrom(c.remoteIP, ap.Port())
	}
	if ip == c.remoteIP || !unroutable(ip) {
		return ap
	}
	return netip.AddrPortFrom(c.remoteIP, ap.Port())
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

func unroutable(ip netip.Addr) bool {
	return ip.IsPrivate() || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || cgnat.Contains(ip)
}

func (c *Conn) prepareActive(ctx context.Context) (*dataSetup, error) {
	ip := c.localIP
	if c.opts.ActiveAddr != "" {
		a, err := netip.ParseAddr(c.opts.ActiveAddr)
		if err != nil {
			return nil, fmt.Errorf("ftpclient: ActiveAddr: %w", err)
		}
		ip = a.Unmap()
	}
	ln, err := listenActive(ip, c.opts.ActivePortMin, c.opts.ActivePortMax)
	if err != nil {
		return nil, fmt.Errorf("ftpclient: active mode: %w", err)
	}
	ap := netip.AddrPortFrom(ip, uint16(ln.Addr().(*net.TCPAddr).Port))
	var rep ftp.Reply
	if ip.Is4() && (c.opts.DisableEPSV || c.noEPRT) {
		arg, _ := ftp.FormatPORT(ap)
		rep, err = c.cmd(ctx, "PORT "+arg)
	} else {
		rep, err = c.cmd(ctx, "EPRT "+ftp.FormatEPRT(ap))
		if err == nil && rep.Code/100 == 5 && ip.Is4() {
			c.noEPRT = true
			arg, _ := ftp.FormatPORT(ap)
			rep, err = c.cmd(ctx, "PORT "+arg)
		}
	}
	if err == nil && rep.Code/100 != 2 {
		err = fmt.Errorf("ftpclient: PORT/EPRT: %w", replyErr(rep))
	}
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &dataSetup{ln: ln}, nil
}

func listenActive(ip netip.Addr, lo, hi int) (net.Listener, error) {
	if lo <= 0 || hi < lo {
		return net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	}
	n := hi - lo + 1
	start := rand.IntN(n)
	var err error
	for i := 0; i < n && i < 200; i++ {
		p := lo + (start+i)%n
		var ln net.Listener
		ln, err = net.Listen("tcp", netip.AddrPortFrom(ip, uint16(p)).String())
		if err == nil {
			return ln, nil
		}
	}
	return nil, fmt.Errorf("no free port in %d-%d: %w", lo, hi, err)
}

// errAbortDone marks a transfer the client ended on purpose (a byte range
// read in full); it is not reported to the caller.
var errAbortDone = errors.New("range complete")

// transfer runs one data command ("RETR x", "STOR x", "LIST", ...): it
// prepares the data connection, sends REST when offset > 0, sends the
// command, opens (and protects) the data connection and runs fn on it. fn's
// error, or the context's cancellation, aborts the transfer with ABOR.
func (c *Conn) transfer(ctx context.Context, line string, offset int64, fn func(net.Conn) error) error {
	if err := c.Err(); err != nil {
		return err
	}
	verb := line
	if i := indexByte(line, ' '); i > 0 {
		verb = line[:i]
	}
	var ds *dataSetup
	var rep ftp.Reply
	var err error
	if offset == 0 && c.canPipeline() {
		ds, rep, err = c.pipelined(ctx, line)
		if ds != nil {
			defer ds.close()
		}
		if err != nil {
			return err
		}
	}
	if ds == nil {
		if ds, err = c.prepareData(ctx); err != nil {
			return err
		}
		defer ds.close()
		if offset > 0 {
			if _, err := c.expect(ctx, 3, "REST "+strconv.FormatInt(offset, 10)); err != nil {
				return err
			}
		}
		if rep, err = c.cmd(ctx, line); err != nil {
			return err
		}
	}
	switch rep.Code / 100 {
	case 1:
	case 2:
		return nil // nothing to transfer (some servers, empty listings)
	default:
		return fmt.Errorf("ftpclient: %s: %w", line, replyErr(rep))
	}
	conn, err := ds.open(ctx, c.opts.timeout(), c.remoteIP)
	if err != nil {
		ds.close()
		return c.abort(ctx, err)
	}
	if c.protP {
		tc := tls.Client(conn, c.tlsConf)
		hctx, cancel := context.WithTimeout(ctx, c.opts.timeout())
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			ds.close()
			return c.abort(ctx, fmt.Errorf("ftpclient: %s: data TLS handshake: %w", verb, err))
		}
		conn = tc
		ds.conn = tc
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	err = fn(conn)
	stopped := stop()
	if err == nil && !stopped {
		err = ctx.Err()
	}
	if err != nil {
		ds.close()
		if errors.Is(err, errAbortDone) {
			return c.abort(context.WithoutCancel(ctx), nil)
		}
		return c.abort(ctx, ctxErr(ctx, err))
	}
	// Close our side (TLS sends close_notify) and read the final reply.
	if err := conn.Close(); err != nil && c.protP {
		return c.abort(ctx, fmt.Errorf("ftpclient: %s: closing data connection: %w", verb, err))
	}
	rep, err = c.readReply(ctx)
	if err != nil {
		return err
	}
	if rep.Code/100 != 2 {
		return fmt.Errorf("ftpclient: %s: %w", line, replyErr(rep))
	}
	return nil
}

// canPipeline reports whether a transfer may send EPSV and its command in
// one write: passive mode, and an EPSV data connection has already been
// made on this connection.
func (c *Conn) canPipeline() bool {
	return !c.opts.NoPipelining && !c.opts.Active && !c.opts.DisableEPSV && !c.noEPSV && c.epsvOK
}

// pipelined sends EPSV and line in one write, reads the 229, dials the
// data connection and reads line's first reply. A nil setup with a nil
// error means the EPSV was refused after all: both replies were read and
// the caller sets the transfer up the slow way (pipelining stays off for
// this connection).
func (c *Conn) pipelined(ctx context.Context, line string) (*dataSetup, ftp.Reply, error) {
	if err := c.sendTwo(ctx, "EPSV", line); err != nil {
		return nil, ftp.Reply{}, err
	}
	rep, err := c.readReply(ctx)
	if err != nil {
		return nil, rep, err
	}
	if rep.Code != ftp.CodeExtendedPassive {
		// line was answered without a data connection (425, 503...).
		c.epsvOK = false
		if rep.Code/100 == 5 {
			c.noEPSV = true
		}
		second, err := c.readReply(ctx)
		if err == nil && second.Code/100 == 1 {
			// Started anyway (to RFC 959's default data port): wait for
			// its end, which is all that can be done.
			_, err = c.readReply(ctx)
		}
		if err != nil {
			return nil, rep, err
		}
		return nil, ftp.Reply{}, nil
	}
	port, err := ftp.ParseEPSVReply(rep.Message())
	if err != nil {
		return nil, rep, c.fail(err)
	}
	target := netip.AddrPortFrom(c.remoteIP, port)
	dctx, cancel := context.WithTimeout(ctx, c.opts.timeout())
	conn, err := c.opts.dialData(dctx, target.String())
	cancel()
	if err != nil {
		// The server may be waiting for this connection in line's
		// command: ABOR ends the wait and puts the replies in step.
		return nil, rep, c.abort(ctx, fmt.Errorf("ftpclient: data connection to %s: %w", target, ctxErr(ctx, err)))
	}
	ds := &dataSetup{conn: conn}
	if rep, err = c.readReply(ctx); err != nil {
		return ds, rep, err
	}
	return ds, rep, nil
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// abort ends a running transfer: it closes the data connection (already
// done by the caller), sends ABOR and reads its replies (426 then 226, or a
// lone 225/226), then sends NOOP and reads up to its 200, so the control
// connection is in step again whichever of the transfer's and ABOR's
// replies the server sent. NOOP is not pipelined after ABOR: pure-ftpd
// discards input that arrives with an ABOR. cause is returned (nil for a
// range read in full); if the exchange fails the Conn is broken.
func (c *Conn) abort(ctx context.Context, cause error) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.timeout())
	defer cancel()
	if err := c.send(actx, "ABOR"); err != nil {
		return errors.Join(cause, err)
	}
	rep, err := c.readReply(actx)
	if err != nil {
		return errors.Join(cause, err)
	}
	if rep.Code/100 == 4 {
		if _, err := c.readReply(actx); err != nil {
			return errors.Join(cause, err)
		}
	}
	if err := c.send(actx, "NOOP"); err != nil {
		return errors.Join(cause, err)
	}
	for i := 0; i < 4; i++ {
		rep, err := c.readReply(actx)
		if err != nil {
			return errors.Join(cause, err)
		}
		if rep.Code == ftp.CodeOK {
			return cause
		}
	}
	return errors.Join(cause, c.fail(errors.New("no reply to NOOP after ABOR")))
}
