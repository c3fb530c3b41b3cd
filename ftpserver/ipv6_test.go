package ftpserver_test

import (
	"io"
	"net"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

func startOn(t *testing.T, addr string) *ftpservertest.Server {
	t.Helper()
	fsys := memfs.New()
	fsys.WriteFile("f", []byte("over ip"))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s here: %v", addr, err)
	}
	l.Close()
	return ftpservertest.Start(t, addr, ftpserver.Options{Auth: ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
}

func TestIPv6(t *testing.T) {
	srv := startOn(t, "[::1]:0")
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	t.Run("EPSV transfers over IPv6", func(t *testing.T) {
		if got := c.Retr("f"); got != "over ip" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("EPRT connects back over IPv6", func(t *testing.T) {
		l := activeListener(t, "[::1]:0")
		c.Do(200, "EPRT %s", ftp.FormatEPRT(l.Addr().(*net.TCPAddr).AddrPort()))
		if got, _ := c.ActiveRetr(l, "f"); got != "over ip" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("EPRT naming the unspecified address connects back to the client, as lftp expects", func(t *testing.T) {
		l := activeListener(t, "[::1]:0")
		c.Do(200, "EPRT |2|::|%d|", l.Addr().(*net.TCPAddr).Port)
		if got, from := c.ActiveRetr(l, "f"); got != "over ip" || !from.IP.Equal(net.IPv6loopback) {
			t.Errorf("got %q from %v", got, from)
		}
	})
	t.Run("PASV is refused on IPv6 and EPSV 1 names the right protocol", func(t *testing.T) {
		c.Do(502, "PASV")
		if msg := c.Do(522, "EPSV 1"); msg != "Network protocol not supported, use (2)" {
			t.Errorf("EPSV 1 = %q", msg)
		}
	})
}

func TestDualStackListenerServesIPv4Clients(t *testing.T) {
	srv := startOn(t, "[::]:0")
	_, port, _ := net.SplitHostPort(srv.Addr)
	c := ftpservertest.Dial(t, net.JoinHostPort("127.0.0.1", port))
	c.Login("u", "p")
	d := c.PASV()
	c.Do(150, "RETR f")
	b, _ := io.ReadAll(d)
	d.Close()
	c.Expect(226)
	if string(b) != "over ip" {
		t.Errorf("PASV got %q", b)
	}
	if got := c.Retr("f"); got != "over ip" {
		t.Errorf("EPSV got %q", got)
	}
}
