package diagnose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/wire"
)

// ctrl is one raw control connection. The diagnosis drives it command by
// command (ftpclient.Conn does the whole log-in in one call, which hides
// the step that fails).
type ctrl struct {
	conn    net.Conn // plain TCP or *tls.Conn
	r       *wire.Reader
	timeout time.Duration
	remote  netip.AddrPort // the address the control connection reached
	local   netip.AddrPort
	tlsConf *tls.Config // non-nil once TLS is on
	protP   bool
	debug   io.Writer
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

func newCtrl(conn net.Conn, timeout time.Duration, debug io.Writer) *ctrl {
	return &ctrl{
		conn: conn, r: wire.NewReader(conn, 64<<10), timeout: timeout, debug: debug,
		remote: addrPortOf(conn.RemoteAddr()), local: addrPortOf(conn.LocalAddr()),
	}
}

func (c *ctrl) deadline(ctx context.Context, d time.Duration) func() bool {
	t := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(t) {
		t = cd
	}
	c.conn.SetDeadline(t)
	return context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
}

func (c *ctrl) debugf(format string, args ...any) {
	if c.debug != nil {
		fmt.Fprintf(c.debug, format+"\n", args...)
	}
}

// send writes one command line.
func (c *ctrl) send(ctx context.Context, line string) error {
	shown := line
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		shown = "PASS ****"
	}
	c.debugf("> %s", shown)
	stop := c.deadline(ctx, c.timeout)
	defer stop()
	_, err := io.WriteString(c.conn, line+"\r\n")
	return ctxErr(ctx, err)
}

// read reads one reply, waiting at most d (the command timeout when 0).
func (c *ctrl) read(ctx context.Context, d time.Duration) (ftp.Reply, error) {
	if d == 0 {
		d = c.timeout
	}
	stop := c.deadline(ctx, d)
	defer stop()
	rep, err := c.r.ReadReply()
	if err != nil {
		return rep, ctxErr(ctx, err)
	}
	c.debugf("< %d %s", rep.Code, strings.Join(rep.Lines, "\n<     "))
	return rep, nil
}

// cmd sends a command and reads its reply.
func (c *ctrl) cmd(ctx context.Context, line string) (ftp.Reply, error) {
	if err := c.send(ctx, line); err != nil {
		return ftp.Reply{}, err
	}
	return c.read(ctx, 0)
}

// startTLS runs the TLS handshake on the control connection.
func (c *ctrl) startTLS(ctx context.Context, conf *tls.Config) (*tls.Conn, error) {
	tc := tls.Client(c.conn, conf)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, ctxErr(ctx, err)
	}
	c.conn = tc
	c.r = wire.NewReader(tc, 64<<10)
	c.tlsConf = conf
	return tc, nil
}

// quit ends the session politely, without waiting long.
func (c *ctrl) quit(ctx context.Context) {
	if c == nil {
		return
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if c.send(qctx, "QUIT") == nil {
		c.read(qctx, 2*time.Second)
	}
	c.conn.Close()
}

func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (the whole run's time limit is over)", ctx.Err())
	}
	return err
}

// netClass sorts a network error into the few kinds an administrator acts
// on differently.
type netClass string

const (
	netTimeout     netClass = "timeout"
	netRefused     netClass = "refused"
	netReset       netClass = "reset"
	netUnreachable netClass = "unreachable"
	netClosed      netClass = "closed"
	netOther       netClass = "error"
)

func classify(err error) netClass {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return netRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return netReset
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return netUnreachable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return netTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return netClosed
	}
	return netOther
}

// replyText formats a reply as it appeared on the wire (first line only).
func replyText(rep ftp.Reply) string {
	if rep.Code == 0 {
		return "no reply"
	}
	msg := ""
	if len(rep.Lines) > 0 {
		msg = rep.Lines[0]
	}
	return fmt.Sprintf("%d %s", rep.Code, msg)
}
