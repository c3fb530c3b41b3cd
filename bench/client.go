package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// ftpConn is the harness's own minimal FTP client: one control connection
// read with net/textproto (which knows RFC 959 multi-line replies) and
// passive data connections whose addresses are parsed by package ftp. The
// same code talks to every server, so it cannot favour one of them.
type ftpConn struct {
	nc   net.Conn
	tp   *textproto.Conn
	host string
}

// dialFTP connects to addr (optionally from local address src) and reads
// the 220 greeting.
func dialFTP(ctx context.Context, addr string, src netip.Addr) (*ftpConn, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	c := &ftpConn{nc: nc, tp: textproto.NewConn(nc), host: host}
	if _, _, err := c.tp.ReadResponse(220); err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// cmd sends one command and reads its reply, which must have code expect
// (or, when expect < 10, start with that digit).
func (c *ftpConn) cmd(expect int, format string, args ...any) (int, string, error) {
	if _, err := c.tp.Cmd(format, args...); err != nil {
		return 0, "", err
	}
	code, msg, err := c.tp.ReadResponse(expect)
	if err != nil {
		return code, msg, fmt.Errorf("%s: %w", verbOf(format), err)
	}
	return code, msg, nil
}

func verbOf(format string) string {
	for i := 0; i < len(format); i++ {
		if format[i] == ' ' {
			return format[:i]
		}
	}
	return format
}

// login sends USER and PASS.
func (c *ftpConn) login(user, pass string) error {
	code, msg, err := c.cmd(0, "USER %s", user)
	switch {
	case err != nil:
		return err
	case code == 230:
		return nil
	case code != 331:
		return fmt.Errorf("USER: %d %s", code, msg)
	}
	_, _, err = c.cmd(230, "PASS %s", pass)
	return err
}

// quit sends QUIT and closes the connection.
func (c *ftpConn) quit() error {
	_, _, err := c.cmd(221, "QUIT")
	c.nc.Close()
	return err
}

func (c *ftpConn) close() { c.nc.Close() }

// pasv asks for a passive data address: EPSV, parsed by ftp.ParseEPSVReply.
func (c *ftpConn) pasv() (string, error) {
	_, msg, err := c.cmd(229, "EPSV")
	if err != nil {
		return "", err
	}
	port, err := ftp.ParseEPSVReply(msg)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(c.host, strconv.Itoa(int(port))), nil
}

// retr downloads name into w and returns the bytes read.
func (c *ftpConn) retr(name string, w io.Writer, buf []byte) (int64, error) {
	addr, err := c.pasv()
	if err != nil {
		return 0, err
	}
	dc, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	if _, _, err := c.cmd(1, "RETR %s", name); err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(w, dc, buf)
	dc.Close()
	if err != nil {
		return n, err
	}
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		return n, fmt.Errorf("RETR end: %w", err)
	}
	return n, nil
}

// authTLS upgrades the control connection with AUTH TLS.
func (c *ftpConn) authTLS(conf *tls.Config) error {
	if _, _, err := c.cmd(234, "AUTH TLS"); err != nil {
		return err
	}
	tc := tls.Client(c.nc, conf)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.nc = tc
	c.tp = textproto.NewConn(tc)
	return nil
}

// data opens a passive data connection, protected when conf is set (the
// shared ClientSessionCache makes it resume the control session).
func (c *ftpConn) data(conf *tls.Config) (net.Conn, error) {
	addr, err := c.pasv()
	if err != nil {
		return nil, err
	}
	dc, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil || conf == nil {
		return dc, err
	}
	return tls.Client(dc, conf), nil
}

// retrTLS is retr over a data connection protected when conf is set.
func (c *ftpConn) retrTLS(name string, w io.Writer, buf []byte, conf *tls.Config) (int64, error) {
	if conf == nil {
		return c.retr(name, w, buf)
	}
	dc, err := c.data(conf)
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	if _, _, err := c.cmd(1, "RETR %s", name); err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(w, dc, buf)
	dc.Close()
	if err != nil {
		return n, err
	}
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		return n, fmt.Errorf("RETR end: %w", err)
	}
	return n, nil
}

// stor uploads r as name.
func (c *ftpConn) stor(name string, r io.Reader, conf *tls.Config) (int64, error) {
	dc, err := c.data(conf)
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	if _, _, err := c.cmd(1, "STOR %s", name); err != nil {
		return 0, err
	}
	n, err := io.Copy(dc, r)
	if err != nil {
		return n, err
	}
	if err := dc.Close(); err != nil {
		return n, err
	}
	if _, _, err := c.tp.ReadResponse(226); err != nil {
		return n, fmt.Errorf("STOR end: %w", err)
	}
	return n, nil
}

// sink is an io.Writer that drops everything (io.Discard hides its
// ReaderFrom behind a pooled buffer; this keeps the harness's buffer).
type sink struct{ n int64 }

func (s *sink) Write(p []byte) (int, error) { s.n += int64(len(p)); return len(p), nil }
