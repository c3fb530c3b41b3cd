package ftpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

func TestIdleAndLoginTimeouts(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{IdleTimeout: 300 * time.Millisecond, LoginTimeout: 200 * time.Millisecond}, nil)
	t.Run("a session that does not log in is closed", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Expect(421)
	})
	t.Run("an idle logged-in session is closed", func(t *testing.T) {
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Expect(421)
	})
}

func TestIdleTimeoutNeverFiresDuringATransfer(t *testing.T) {
	srv, fsys := newMemServer(t, ftpserver.Options{IdleTimeout: 200 * time.Millisecond}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	d := c.EPSV()
	c.Do(150, "STOR slow.bin")
	for i := 0; i < 8; i++ { // 800 ms of a slow upload: four idle timeouts long
		d.Write([]byte("0123456789"))
		time.Sleep(100 * time.Millisecond)
	}
	d.Close()
	c.Expect(226)
	c.Do(200, "NOOP")
	if b, _ := fsys.ReadFile("slow.bin"); len(b) != 80 {
		t.Errorf("stored %d bytes, want 80", len(b))
	}
}

func TestStalledDataConnectionIsClosed(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{DataTimeout: 300 * time.Millisecond}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	d := c.EPSV()
	defer d.Close()
	c.Do(150, "STOR stall.bin")
	d.Write([]byte("some"))
	c.Expect(426) // nothing more arrives: the watchdog gives up
}

func TestFailedLoginsBanTheAddress(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{MaxLoginFailures: 3, BanDuration: time.Minute}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Do(331, "USER u")
	c.Do(530, "PASS bad")
	c.Do(331, "USER u")
	c.Do(530, "PASS bad")
	c.Do(331, "USER u")
	c.Do(421, "PASS bad")
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(b, []byte("421 ")) {
		t.Errorf("banned address got %q", b)
	}
}

func TestFailedLoginIsDelayed(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{LoginFailDelay: 300 * time.Millisecond}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Do(331, "USER u")
	start := time.Now()
	c.Do(530, "PASS bad")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("failed login answered after %v, want >= 300ms", d)
	}
}

func TestSessionCaps(t *testing.T) {
	t.Run("the per-IP cap refuses one session too many", func(t *testing.T) {
		srv, _ := newMemServer(t, ftpserver.Options{MaxSessionsPerIP: 2}, nil)
		ftpservertest.Dial(t, srv.Addr).Login("u", "p")
		ftpservertest.Dial(t, srv.Addr).Login("u", "p")
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(conn)
		if !bytes.HasPrefix(b, []byte("421 ")) {
			t.Errorf("third session got %q", b)
		}
	})
	t.Run("the global cap refuses one session too many when all have logged in", func(t *testing.T) {
		srv, _ := newMemServer(t, ftpserver.Options{MaxSessions: 1}, nil)
		ftpservertest.Dial(t, srv.Addr).Login("u", "p")
		conn, _ := net.Dial("tcp", srv.Addr)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(conn)
		if !bytes.HasPrefix(b, []byte("421 ")) {
			t.Errorf("second session got %q", b)
		}
	})
	t.Run("the per-user cap refuses a login too many", func(t *testing.T) {
		srv, _ := newMemServer(t, ftpserver.Options{MaxSessionsPerUser: 1}, nil)
		a := ftpservertest.Dial(t, srv.Addr)
		a.Login("u", "p")
		b := ftpservertest.Dial(t, srv.Addr)
		b.Do(331, "USER u")
		b.Do(421, "PASS p")
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("ro", "p")
		a.Do(221, "QUIT")
		if rest, err := io.ReadAll(a.Conn()); err != nil || len(rest) != 0 { // the server closed it
			t.Fatalf("after QUIT: %q, %v", rest, err)
		}
		d := ftpservertest.Dial(t, srv.Addr)
		d.Login("u", "p")
	})
}

func TestActiveModeUsesTheConfiguredSourcePort(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	srv, _ := newMemServer(t, ftpserver.Options{ActivePort: port}, map[string]string{"f": "x"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	l := activeListener(t, "127.0.0.1:0")
	arg, _ := ftp.FormatPORT(l.Addr().(*net.TCPAddr).AddrPort())
	c.Do(200, "PORT %s", arg)
	if _, from := c.ActiveRetr(l, "f"); from.Port != port {
		t.Errorf("data connection came from port %d, want %d", from.Port, port)
	}
}

func TestPASVAnnouncesThePublicAddress(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{
		PublicAddr: netip.MustParseAddr("203.0.113.7"),
		PublicAddrByNet: []ftpserver.NetAddr{{
			Net: netip.MustParsePrefix("127.0.0.0/8"), Addr: netip.MustParseAddr("192.0.2.1")}},
		PassivePortMin: 40000, PassivePortMax: 40009,
	}, nil)
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	ap, err := ftp.ParsePASVReply(c.Do(227, "PASV"))
	if err != nil {
		t.Fatal(err)
	}
	if ap.Addr().String() != "192.0.2.1" || ap.Port() < 40000 || ap.Port() > 40009 {
		t.Errorf("PASV announced %v", ap)
	}
}

func TestManyConcurrentSessions(t *testing.T) {
	srv, _ := newMemServer(t, ftpserver.Options{MaxSessionsPerIP: 200}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			data := strings.Repeat(fmt.Sprintf("%03d", i), 20000)
			err := roundTrip(srv.Addr, fmt.Sprintf("f%03d", i), data)
			if err != nil {
				errs <- fmt.Errorf("session %d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// roundTrip uploads and downloads a file on its own session, without testing.T
// (for use from goroutines).
func roundTrip(addr, name, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	conn.SetDeadline(dl)
	tp := textproto.NewReader(bufio.NewReader(conn))
	read := func() (string, error) {
		code, msg, err := tp.ReadResponse(0)
		return fmt.Sprintf("%d %s", code, msg), err
	}
	cmd := func(line, want string) (string, error) {
		if line != "" {
			if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
				return "", err
			}
		}
		r, err := read()
		if err != nil && !strings.HasPrefix(r, want) {
			return r, err
		}
		if !strings.HasPrefix(r, want) {
			return r, fmt.Errorf("%q: got %q, want %s", line, r, want)
		}
		return r, nil
	}
	data2 := func(verb string) (net.Conn, error) {
		r, err := cmd("EPSV", "229")
		if err != nil {
			return nil, err
		}
		port, err := ftp.ParseEPSVReply(r)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		return net.Dial("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	}
	for _, s := range [][2]string{{"", "220"}, {"USER u", "331"}, {"PASS p", "230"}, {"TYPE I", "200"}} {
		if _, err := cmd(s[0], s[1]); err != nil {
			return err
		}
	}
	d, err := data2("STOR")
	if err != nil {
		return err
	}
	if _, err := cmd("STOR "+name, "150"); err != nil {
		return err
	}
	io.WriteString(d, data)
	d.Close()
	if _, err := cmd("", "226"); err != nil {
		return err
	}
	d, err = data2("RETR")
	if err != nil {
		return err
	}
	if _, err := cmd("RETR "+name, "150"); err != nil {
		return err
	}
	got, err := io.ReadAll(d)
	d.Close()
	if err != nil {
		return err
	}
	if _, err := cmd("", "226"); err != nil {
		return err
	}
	if string(got) != data {
		return fmt.Errorf("downloaded %d bytes differ from the %d uploaded", len(got), len(data))
	}
	_, err = cmd("QUIT", "221")
	return err
}

func TestShutdownLetsTransfersFinish(t *testing.T) {
	big := strings.Repeat("y", 32<<20) // more than the loopback socket buffers hold
	srv, _ := newMemServer(t, ftpserver.Options{}, map[string]string{"big": big})
	idle := ftpservertest.Dial(t, srv.Addr)
	idle.Login("u", "p")
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	d := c.EPSV()
	c.Do(150, "RETR big")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	idle.Expect(421) // idle sessions are told and closed at once
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a transfer was running", err)
	default:
	}
	n, _ := io.Copy(io.Discard, d) // the running transfer completes
	d.Close()
	c.Expect(226)
	c.Expect(421)
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n != int64(len(big)) {
		t.Errorf("received %d bytes, want %d", n, len(big))
	}
	if _, err := net.Dial("tcp", srv.Addr); err == nil {
		t.Error("server still accepts connections after Shutdown")
	}
}

func TestTransferLog(t *testing.T) {
	var buf syncBuffer
	srv, _ := newMemServer(t, ftpserver.Options{TransferLog: &buf}, map[string]string{"f.txt": "12345"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Login("u", "p")
	c.Do(200, "TYPE I")
	c.Retr("f.txt")
	c.Stor("STOR", "g.txt", "abc")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("xferlog = %q", buf.String())
	}
	for i, want := range []string{" 127.0.0.1 5 /f.txt b _ o r u ftp 0 * c", " 127.0.0.1 3 /g.txt b _ i r u ftp 0 * c"} {
		if !strings.HasSuffix(lines[i], want) {
			t.Errorf("xferlog line %q does not end with %q", lines[i], want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
