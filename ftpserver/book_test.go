package ftpserver_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// failingListener makes its first n accepts fail with err (as when the
// process is out of file descriptors), then accepts normally.
type failingListener struct {
	net.Listener
	n   int
	err error
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.n > 0 {
		l.n--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", l.err)}
	}
	return l.Listener.Accept()
}

func TestServeKeepsServingAfterEMFILE(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		t.Run(errno.Error()+" from accept is retried, not fatal", func(t *testing.T) {
			fsys := memfs.New()
			srv, err := ftpserver.New(ftpserver.Options{
				Auth:   ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(&failingListener{Listener: ln, n: 4, err: errno}) }()
			c := ftpservertest.Dial(t, ln.Addr().String())
			c.Login("u", "p")
			c.Do(200, "NOOP")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			if err := <-done; err != ftpserver.ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		})
	}
}

// rawDialFrom connects to addr from the loopback address local (Linux routes
// all of 127.0.0.0/8 to lo) and returns the connection and its first
// reply line.
func rawDialFrom(t testing.TB, addr, local string) (net.Conn, *textproto.Reader) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, textproto.NewReader(bufio.NewReader(c))
}

func TestPreLoginFloodCannotCrowdOutUsers(t *testing.T) {
	// 40 sessions in all, 6 per address; by default half of each may be
	// sessions that have not logged in (20, and 3 per address).
	srv, _ := newMemServer(t, ftpserver.Options{MaxSessions: 40, MaxSessionsPerIP: 6}, map[string]string{"f.txt": "the payload"})
	early := ftpservertest.Dial(t, srv.Addr)
	early.Login("u", "p")

	// The flood: 6 idle connections from each of 30 addresses (180, far
	// more than the server's 40 sessions).
	first, firstR := rawDialFrom(t, srv.Addr, "127.0.0.2")
	if l, err := firstR.ReadLine(); err != nil || !strings.HasPrefix(l, "220") {
		t.Fatalf("first flood connection got %q, %v", l, err)
	}
	type conn struct {
		c net.Conn
		r *textproto.Reader
	}
	var flood []conn
	for a := 2; a < 32; a++ {
		for i := 0; i < 6; i++ {
			if a == 2 && i == 0 {
				continue
			}
			c, r := rawDialFrom(t, srv.Addr, "127.0.0."+strconv.Itoa(a))
			flood = append(flood, conn{c, r})
		}
	}
	refused := 0
	for _, f := range flood { // each has been admitted (220) or refused (421)
		l, err := f.r.ReadLine()
		if err != nil {
			t.Fatalf("flood connection: %v", err)
		}
		if strings.HasPrefix(l, "421") {
			refused++
		}
	}
	if refused == 0 {
		t.Error("no flood connection was refused by the per-address pre-login cap")
	}
	// The oldest idle connection made room for the newer ones.
	first.SetDeadline(time.Now().Add(10 * time.Second))
	if l, err := firstR.ReadLine(); err != nil || !strings.HasPrefix(l, "421") {
		t.Errorf("the oldest idle connection got %q, %v; want a 421", l, err)
	}

	start := time.Now()
	c, _ := rawDialFrom(t, srv.Addr, "127.0.0.200")
	legit := ftpservertest.NewClient(t, c)
	legit.Expect(ftp.CodeServiceReady)
	legit.Login("u", "p")
	if got := legit.Retr("f.txt"); got != "the payload" {
		t.Errorf("downloaded %q", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the legitimate client needed %v to log in and download, want < 5s", d)
	}
	early.Do(200, "NOOP") // logged-in sessions are never evicted
}
