package ftpserver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

// client is a minimal FTP client for tests. It uses net/textproto to read
// replies, independently of the server's own reply writer.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *textproto.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &client{t: t, conn: conn, r: textproto.NewReader(bufio.NewReader(conn))}
	c.expect(220)
	return c
}

// send writes a raw command line.
func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// read reads one reply.
func (c *client) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.r.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// expect reads one reply and checks its code.
func (c *client) expect(code int) string {
	c.t.Helper()
	got, msg := c.read()
	if got != code {
		c.t.Fatalf("got reply %d %q, want %d", got, msg, code)
	}
	return msg
}

// do sends a command and checks the reply code.
func (c *client) do(code int, format string, args ...any) string {
	c.t.Helper()
	c.send(format, args...)
	return c.expect(code)
}

func (c *client) login(user, pass string) {
	c.t.Helper()
	c.do(331, "USER %s", user)
	c.do(230, "PASS %s", pass)
}

// epsv opens a passive data connection with EPSV.
func (c *client) epsv() net.Conn {
	c.t.Helper()
	msg := c.do(229, "EPSV")
	port, err := ftp.ParseEPSVReply(msg)
	if err != nil {
		c.t.Fatalf("EPSV reply %q: %v", msg, err)
	}
	host, _, _ := net.SplitHostPort(c.conn.RemoteAddr().String())
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		c.t.Fatalf("dial data: %v", err)
	}
	d.SetDeadline(time.Now().Add(30 * time.Second))
	return d
}

// pasv opens a passive data connection with PASV.
func (c *client) pasv() net.Conn {
	c.t.Helper()
	msg := c.do(227, "PASV")
	ap, err := ftp.ParsePASVReply(msg)
	if err != nil {
		c.t.Fatalf("PASV reply %q: %v", msg, err)
	}
	d, err := net.DialTimeout("tcp", ap.String(), 5*time.Second)
	if err != nil {
		c.t.Fatalf("dial data: %v", err)
	}
	d.SetDeadline(time.Now().Add(30 * time.Second))
	return d
}

// retr downloads a file over EPSV and returns its bytes.
func (c *client) retr(name string) string {
	c.t.Helper()
	d := c.epsv()
	defer d.Close()
	c.do(150, "RETR %s", name)
	b, err := io.ReadAll(d)
	if err != nil {
		c.t.Fatalf("read data: %v", err)
	}
	c.expect(226)
	return string(b)
}

// stor uploads data with the given verb (STOR, APPE) over EPSV.
func (c *client) stor(verb, name, data string) {
	c.t.Helper()
	d := c.epsv()
	c.do(150, "%s %s", verb, name)
	if _, err := io.WriteString(d, data); err != nil {
		c.t.Fatalf("write data: %v", err)
	}
	d.Close()
	c.expect(226)
}

// listing runs a listing command (LIST, NLST, MLSD) and returns its lines.
func (c *client) listing(cmd string) []string {
	c.t.Helper()
	d := c.epsv()
	defer d.Close()
	c.do(150, "%s", cmd)
	b, err := io.ReadAll(d)
	if err != nil {
		c.t.Fatalf("read listing: %v", err)
	}
	c.expect(226)
	s := strings.TrimSuffix(string(b), "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\r\n")
}

// newMemServer starts a server with one read-write user "u"/"p" and one
// read-only user "ro"/"p" on a memfs holding files.
func newMemServer(t testing.TB, opts ftpserver.Options, files map[string]string) (*ftpservertest.Server, *memfs.FS) {
	t.Helper()
	fsys := memfs.New()
	for name, data := range files {
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			if err := fsys.MkdirAll(name[:i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	opts.Auth = ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
		ftpservertest.User{Name: "ro", Password: "p", FS: fsys, Perms: ftpserver.PermReadOnly},
	)
	return ftpservertest.Start(t, "", opts), fsys
}

var _ storage.FS = (*memfs.FS)(nil)

// activeListener listens on addr ("127.0.0.1:0", "[::1]:0") for an
// active-mode data connection; it is closed when the test ends.
func activeListener(t testing.TB, addr string) *net.TCPListener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.(*net.TCPListener)
}

// activeRetr downloads name after a PORT/EPRT naming l, and returns the
// data and the address the server connected from.
func (c *client) activeRetr(l *net.TCPListener, name string) (string, *net.TCPAddr) {
	c.t.Helper()
	c.send("RETR %s", name)
	l.SetDeadline(time.Now().Add(10 * time.Second))
	d, err := l.Accept()
	if err != nil {
		c.t.Fatalf("accept the data connection: %v", err)
	}
	c.expect(150)
	b, _ := io.ReadAll(d)
	d.Close()
	c.expect(226)
	return string(b), d.RemoteAddr().(*net.TCPAddr)
}
