package ftpservertest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Client is a raw FTP control connection for tests that need byte-level
// control of what is sent: the tests of ferry's server and proxy and the
// interoperability tests. Replies are read with net/textproto,
// independently of ferry's own reply reader. Every method fails the test
// on an error; every connection it opens is closed when the test ends.
type Client struct {
	t    testing.TB
	conn net.Conn
	r    *textproto.Reader
}

// Timeout bounds dials, and each Client connection is given a deadline of
// SessionTimeout when it is made.
const (
	Timeout        = 5 * time.Second
	SessionTimeout = 30 * time.Second
)

// Dial connects to addr and reads the 220 greeting.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	c := DialNoGreeting(t, addr)
	c.Expect(ftp.CodeServiceReady)
	return c
}

// DialNoGreeting connects to addr without reading the greeting (for a
// server that may refuse with 421 instead, or implicit TLS).
func DialNoGreeting(t testing.TB, addr string) *Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	conn.SetDeadline(time.Now().Add(SessionTimeout))
	return NewClient(t, conn)
}

// NewClient wraps an open control connection, which is closed when the
// test ends.
func NewClient(t testing.TB, conn net.Conn) *Client {
	t.Cleanup(func() { conn.Close() })
	c := &Client{t: t}
	c.SetConn(conn)
	return c
}

// Conn returns the control connection.
func (c *Client) Conn() net.Conn { return c.conn }

// SetConn replaces the control connection, as after a TLS handshake on it;
// replies are read from the new one.
func (c *Client) SetConn(conn net.Conn) {
	c.conn = conn
	c.r = textproto.NewReader(bufio.NewReader(conn))
}

// StartTLS sends AUTH TLS and runs the TLS handshake with cfg.
func (c *Client) StartTLS(cfg *tls.Config) *tls.Conn {
	c.t.Helper()
	c.Do(ftp.CodeAuthOK, "AUTH TLS")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake on the control connection: %v", err)
	}
	c.SetConn(tc)
	return tc
}

// Raw writes s as it is.
func (c *Client) Raw(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// Send writes one command line, formatted as by fmt.Sprintf, and CRLF.
func (c *Client) Send(format string, args ...any) {
	c.t.Helper()
	c.Raw(fmt.Sprintf(format, args...) + "\r\n")
}

// ReadResponse reads one reply and returns its code, its text (lines
// joined by "\n") and, for a malformed reply or a read error, the error
// (a textproto.ProtocolError for a malformed reply), without failing the
// test.
func (c *Client) ReadResponse() (int, string, error) { return c.r.ReadResponse(0) }

// Read reads one reply: its code and its text (lines joined by "\n").
func (c *Client) Read() (int, string) {
	c.t.Helper()
	code, msg, err := c.ReadResponse()
	if err != nil && code == 0 {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// ReadReply reads one reply as an ftp.Reply.
func (c *Client) ReadReply() ftp.Reply {
	c.t.Helper()
	code, msg := c.Read()
	return ftp.Reply{Code: code, Lines: strings.Split(msg, "\n")}
}

// ReadLine reads one raw line of the control connection.
func (c *Client) ReadLine() (string, error) { return c.r.ReadLine() }

// Expect reads one reply, fails unless its code is code, and returns its
// text.
func (c *Client) Expect(code int) string {
	c.t.Helper()
	got, msg := c.Read()
	if got != code {
		c.t.Fatalf("got reply %d %q, want %d", got, msg, code)
	}
	return msg
}

// Do sends a command and expects the reply code.
func (c *Client) Do(code int, format string, args ...any) string {
	c.t.Helper()
	c.Send(format, args...)
	return c.Expect(code)
}

// ExpectClosed fails unless the peer closes the connection without
// another reply.
func (c *Client) ExpectClosed() {
	c.t.Helper()
	if code, msg, err := c.r.ReadResponse(0); err == nil || code != 0 {
		c.t.Fatalf("want the connection closed, got %d %q", code, msg)
	}
}

// Login sends USER and PASS and expects 331 and 230.
func (c *Client) Login(user, pass string) {
	c.t.Helper()
	c.Do(ftp.CodeNeedPassword, "USER %s", user)
	c.Do(ftp.CodeLoggedIn, "PASS %s", pass)
}

// EPSV sends EPSV and dials the announced port on the control
// connection's remote address.
func (c *Client) EPSV() net.Conn {
	c.t.Helper()
	return c.DialData(c.EPSVAddr())
}

// EPSVAddr sends EPSV and returns the data address it announces, on the
// control connection's remote address, without dialing it.
func (c *Client) EPSVAddr() string {
	c.t.Helper()
	msg := c.Do(ftp.CodeExtendedPassive, "EPSV")
	port, err := ftp.ParseEPSVReply(msg)
	if err != nil {
		c.t.Fatalf("EPSV reply %q: %v", msg, err)
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// PASV sends PASV and dials the announced address.
func (c *Client) PASV() net.Conn {
	c.t.Helper()
	msg := c.Do(ftp.CodePassive, "PASV")
	ap, err := ftp.ParsePASVReply(msg)
	if err != nil {
		c.t.Fatalf("PASV reply %q: %v", msg, err)
	}
	return c.DialData(ap.String())
}

// DialData dials a data connection to addr from the control connection's
// local address, as a client does (servers accept data connections only
// from the control connection's peer).
func (c *Client) DialData(addr string) net.Conn {
	c.t.Helper()
	dialer := net.Dialer{Timeout: Timeout}
	if la, ok := c.conn.LocalAddr().(*net.TCPAddr); ok {
		dialer.LocalAddr = &net.TCPAddr{IP: la.IP, Zone: la.Zone}
	}
	d, err := dialer.Dial("tcp", addr)
	if err != nil {
		c.t.Fatalf("dial data %s: %v", addr, err)
	}
	c.t.Cleanup(func() { d.Close() })
	d.SetDeadline(time.Now().Add(SessionTimeout))
	return d
}

// Retr downloads a file over EPSV and returns its bytes.
func (c *Client) Retr(name string) string {
	c.t.Helper()
	d := c.EPSV()
	defer d.Close()
	c.Do(ftp.CodeFileStatusOK, "RETR %s", name)
	b, err := io.ReadAll(d)
	if err != nil {
		c.t.Fatalf("read data: %v", err)
	}
	c.Expect(ftp.CodeClosingData)
	return string(b)
}

// Stor uploads data with verb (STOR, APPE) over EPSV.
func (c *Client) Stor(verb, name, data string) {
	c.t.Helper()
	d := c.EPSV()
	c.Do(ftp.CodeFileStatusOK, "%s %s", verb, name)
	if _, err := io.WriteString(d, data); err != nil {
		c.t.Fatalf("write data: %v", err)
	}
	d.Close()
	c.Expect(ftp.CodeClosingData)
}

// Listing runs a listing command (LIST, NLST, MLSD) over EPSV and returns
// its lines.
func (c *Client) Listing(cmd string) []string {
	c.t.Helper()
	d := c.EPSV()
	defer d.Close()
	c.Do(ftp.CodeFileStatusOK, "%s", cmd)
	b, err := io.ReadAll(d)
	if err != nil {
		c.t.Fatalf("read listing: %v", err)
	}
	c.Expect(ftp.CodeClosingData)
	s := strings.TrimSuffix(string(b), "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\r\n")
}

// ActiveRetr sends RETR name after a PORT or EPRT that named l, accepts
// the server's data connection, and returns the data and the address the
// server connected from.
func (c *Client) ActiveRetr(l *net.TCPListener, name string) (string, *net.TCPAddr) {
	c.t.Helper()
	c.Send("RETR %s", name)
	l.SetDeadline(time.Now().Add(10 * time.Second))
	d, err := l.Accept()
	if err != nil {
		c.t.Fatalf("accept the data connection: %v", err)
	}
	c.Expect(ftp.CodeFileStatusOK)
	b, _ := io.ReadAll(d)
	d.Close()
	c.Expect(ftp.CodeClosingData)
	return string(b), d.RemoteAddr().(*net.TCPAddr)
}
