package ftpserver_test

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/memfs"
)

// startReuse starts a TLS server with users "u" and "v" (password "p") on
// one memfs holding f.txt.
func startReuse(t *testing.T, opts ftpserver.Options) (*ftpservertest.Server, *memfs.FS) {
	t.Helper()
	fsys := memfs.New()
	fsys.WriteFile("f.txt", []byte("protected data"))
	fsys.WriteFile("keep.txt", []byte("keep me"))
	opts.TLS = &tls.Config{Certificates: []tls.Certificate{testCert.TLS}}
	opts.Auth = ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
		ftpservertest.User{Name: "v", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
	)
	return ftpservertest.Start(t, "", opts), fsys
}

// dialFrom connects to addr from the local IP from (a 127.0.0.0/8 address).
func dialFrom(t testing.TB, addr, from string) *ftpservertest.Client {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := ftpservertest.NewClient(t, conn)
	c.Expect(220)
	return c
}

// tlsSession is AUTH TLS, login, PBSZ and PROT P with cfg.
func tlsSession(t testing.TB, c *ftpservertest.Client, cfg *tls.Config, user string) {
	t.Helper()
	c.StartTLS(cfg)
	c.Login(user, "p")
	c.Do(200, "PBSZ 0")
	c.Do(200, "PROT P")
}

// retrTLS downloads name over a PROT P data connection made from the
// control connection's local IP with cfg; the handshake follows the 150.
// It returns the data and the final reply's code.
func retrTLS(t testing.TB, c *ftpservertest.Client, name string, cfg *tls.Config) (string, int) {
	t.Helper()
	raw := c.EPSV()
	c.Do(150, "RETR %s", name)
	tc := tls.Client(raw, cfg)
	var b []byte
	if err := tc.Handshake(); err == nil {
		b, _ = io.ReadAll(tc)
	}
	code, _ := c.Read()
	return string(b), code
}

func TestDataSessionReuseAcrossControlConnections(t *testing.T) {
	for _, tc := range []struct {
		name          string
		policy        ftpserver.ReusePolicy
		other, source string // the ticket owner's user and address
		want          int
	}{
		{"the default policy accepts a ticket of the same user from the same address", ftpserver.ReuseRequired, "u", "127.0.0.1", 226},
		{"the default policy refuses a ticket of another user", ftpserver.ReuseRequired, "v", "127.0.0.1", 522},
		{"the default policy refuses a ticket of the same user from another address", ftpserver.ReuseRequired, "u", "127.0.0.2", 522},
		{"the strict policy refuses a ticket of another session of the same user", ftpserver.ReuseStrict, "u", "127.0.0.1", 522},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startReuse(t, ftpserver.Options{TLSReuse: tc.policy, DataTimeout: 2 * time.Second})
			// One session cache shared by two control connections, as rclone
			// does; the owner's handshake comes last, so its ticket is the
			// one the cache holds.
			shared := clientTLS(0)
			b := dialFrom(t, srv.Addr, "127.0.0.1")
			tlsSession(t, b, clientTLS(0), "u")
			a := dialFrom(t, srv.Addr, tc.source)
			tlsSession(t, a, shared, tc.other)
			b.Do(257, "PWD")
			got, code := retrTLS(t, b, "f.txt", shared)
			if code != tc.want {
				t.Fatalf("got %d %q, want %d", code, got, tc.want)
			}
			if tc.want == 226 && got != "protected data" {
				t.Errorf("got %q", got)
			}
			b.Do(200, "NOOP")
			a.Do(257, "PWD")
		})
	}
	t.Run("a ticket issued before login is refused when its session does not log in", func(t *testing.T) {
		srv, _ := startReuse(t, ftpserver.Options{DataTimeout: 2 * time.Second, TLSHandshakeTimeout: 2 * time.Second})
		shared := clientTLS(0)
		b := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, b, clientTLS(0), "u")
		a := ftpservertest.Dial(t, srv.Addr)
		a.StartTLS(shared) // AUTH TLS comes before USER: the ticket has no user yet
		a.Do(211, "FEAT")  // reads the TLS 1.3 ticket
		raw := b.EPSV()
		b.Do(150, "RETR f.txt")
		tc := tls.Client(raw, shared)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		if !tc.ConnectionState().DidResume {
			t.Fatal("the data connection did not resume a's session")
		}
		if got, _ := io.ReadAll(tc); len(got) != 0 {
			t.Errorf("got %q", got)
		}
		b.Expect(522)
	})
	t.Run("a ticket issued before login is accepted once its session logs in", func(t *testing.T) {
		srv, _ := startReuse(t, ftpserver.Options{})
		shared := clientTLS(0)
		b := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, b, clientTLS(0), "u")
		a := ftpservertest.Dial(t, srv.Addr)
		a.StartTLS(shared)
		a.Do(211, "FEAT")
		raw := b.EPSV()
		b.Do(150, "RETR f.txt")
		tc := tls.Client(raw, shared)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		if !tc.ConnectionState().DidResume {
			t.Fatal("the data connection did not resume a's session")
		}
		// The server holds the data connection until a has logged in.
		a.Login("u", "p")
		if got, err := io.ReadAll(tc); err != nil || string(got) != "protected data" {
			t.Fatalf("got %q, %v", got, err)
		}
		b.Expect(226)
	})
	t.Run("a ticket of a session that has ended is refused", func(t *testing.T) {
		srv, _ := startReuse(t, ftpserver.Options{DataTimeout: 2 * time.Second})
		shared := clientTLS(0)
		b := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, b, clientTLS(0), "u")
		a := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, a, shared, "u")
		a.Do(221, "QUIT")
		waitFor(t, "the ended session to leave the TLS book", func() bool { return ftpserver.TLSBookLen(srv.Server) == 1 })
		if _, code := retrTLS(t, b, "f.txt", shared); code != 522 {
			t.Fatalf("got %d, want 522", code)
		}
	})
	t.Run("a ticket of a session that sent REIN is refused until it logs in again", func(t *testing.T) {
		srv, _ := startReuse(t, ftpserver.Options{DataTimeout: 2 * time.Second})
		shared := clientTLS(0)
		b := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, b, clientTLS(0), "u")
		a := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, a, shared, "u")
		a.Do(220, "REIN")
		if _, code := retrTLS(t, b, "f.txt", shared); code != 522 {
			t.Fatalf("got %d, want 522", code)
		}
	})
}

func TestTLSBookForgetsEndedSessions(t *testing.T) {
	srv, _ := startReuse(t, ftpserver.Options{})
	for i := 0; i < 5; i++ {
		c := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, c, clientTLS(0), "u")
		c.Do(221, "QUIT")
	}
	waitFor(t, "the TLS book to empty", func() bool { return ftpserver.TLSBookLen(srv.Server) == 0 })
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDataThiefDoesNotEndTheTransfer(t *testing.T) {
	thieves := []struct {
		name  string
		steal func(t *testing.T, raw net.Conn, other *tls.Config)
	}{
		{"one that makes a full handshake", func(t *testing.T, raw net.Conn, _ *tls.Config) {
			tc := tls.Client(raw, clientTLS(0))
			if tc.Handshake() == nil {
				if n, _ := io.Copy(io.Discard, tc); n != 0 {
					t.Errorf("the thief received %d bytes", n)
				}
			}
		}},
		{"one that resumes another user's session", func(t *testing.T, raw net.Conn, other *tls.Config) {
			tc := tls.Client(raw, other)
			if tc.Handshake() == nil {
				if n, _ := io.Copy(io.Discard, tc); n != 0 {
					t.Errorf("the thief received %d bytes", n)
				}
			}
		}},
		{"one that sends garbage", func(t *testing.T, raw net.Conn, _ *tls.Config) {
			raw.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			io.Copy(io.Discard, raw)
		}},
		{"one that stays silent", nil},
	}
	for _, th := range thieves {
		t.Run("a download survives "+th.name, func(t *testing.T) {
			srv, _ := startReuse(t, ftpserver.Options{})
			otherCfg := clientTLS(0)
			other := ftpservertest.Dial(t, srv.Addr)
			tlsSession(t, other, otherCfg, "v")
			cfg := clientTLS(0)
			c := ftpservertest.Dial(t, srv.Addr)
			tlsSession(t, c, cfg, "u")
			addr := c.EPSVAddr()
			// The thief, from the client's own address, comes first.
			thief := c.DialData(addr)
			if th.steal != nil {
				th.steal(t, thief, otherCfg)
			}
			raw := c.DialData(addr)
			c.Do(150, "RETR f.txt")
			tc := tls.Client(raw, cfg)
			if err := tc.Handshake(); err != nil {
				t.Fatalf("the client's handshake: %v", err)
			}
			b, err := io.ReadAll(tc)
			if err != nil || string(b) != "protected data" {
				t.Fatalf("got %q, %v", b, err)
			}
			c.Expect(226)
		})
	}
	t.Run("an upload survives a thief and is created only by the client's connection", func(t *testing.T) {
		srv, fsys := startReuse(t, ftpserver.Options{})
		cfg := clientTLS(0)
		c := ftpservertest.Dial(t, srv.Addr)
		tlsSession(t, c, cfg, "u")
		addr := c.EPSVAddr()
		thief := c.DialData(addr)
		tls.Client(thief, clientTLS(0)).Handshake()
		io.Copy(io.Discard, thief)
		raw := c.DialData(addr)
		c.Do(150, "STOR keep.txt")
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tc, "new content")
		tc.Close()
		c.Expect(226)
		if b, _ := fsys.ReadFile("keep.txt"); string(b) != "new content" {
			t.Errorf("keep.txt = %q", b)
		}
	})
}

func TestRefusedProtectedUploadChangesNothing(t *testing.T) {
	srv, fsys := startReuse(t, ftpserver.Options{DataTimeout: 2 * time.Second})
	c := ftpservertest.Dial(t, srv.Addr)
	tlsSession(t, c, clientTLS(0), "u")
	for _, tc := range []struct{ verb, name, before string }{
		{"STOR", "keep.txt", "keep me"},
		{"STOR", "new.txt", ""},
		{"APPE", "keep.txt", "keep me"},
	} {
		raw := c.EPSV()
		c.Do(150, "%s %s", tc.verb, tc.name)
		if tls.Client(raw, clientTLS(0)).Handshake() == nil { // no resumption
			io.Copy(io.Discard, raw)
		}
		c.Expect(522)
		b, err := fsys.ReadFile(tc.name)
		switch {
		case tc.before == "" && err == nil:
			t.Errorf("%s %s: the refused upload created the file (%q)", tc.verb, tc.name, b)
		case tc.before != "" && string(b) != tc.before:
			t.Errorf("%s %s: the refused upload changed the file to %q", tc.verb, tc.name, b)
		}
	}
}

func TestHandshakeBeforeTheCommand(t *testing.T) {
	// aioftp completes the TLS handshake on a passive data connection before
	// it sends RETR or STOR. A server that starts the handshake only at the
	// command deadlocks with it until a timeout; DataTimeout is long here so
	// that the client's own deadline catches that.
	srv, fsys := startReuse(t, ftpserver.Options{DataTimeout: 5 * time.Minute, TLSHandshakeTimeout: 5 * time.Minute})
	cfg := clientTLS(0)
	c := ftpservertest.Dial(t, srv.Addr)
	tlsSession(t, c, cfg, "u")
	handshake := func() *tls.Conn {
		raw := c.EPSV()
		raw.SetDeadline(time.Now().Add(20 * time.Second))
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake before the command: %v", err)
		}
		return tc
	}
	t.Run("a download", func(t *testing.T) {
		tc := handshake()
		c.Do(150, "RETR f.txt")
		if b, err := io.ReadAll(tc); err != nil || string(b) != "protected data" {
			t.Fatalf("got %q, %v", b, err)
		}
		c.Expect(226)
	})
	t.Run("an upload", func(t *testing.T) {
		tc := handshake()
		c.Do(150, "STOR up.txt")
		io.WriteString(tc, "uploaded")
		tc.Close()
		c.Expect(226)
		if b, _ := fsys.ReadFile("up.txt"); string(b) != "uploaded" {
			t.Errorf("up.txt = %q", b)
		}
	})
	t.Run("a listing over PASV", func(t *testing.T) {
		ap, err := ftp.ParsePASVReply(c.Do(227, "PASV"))
		if err != nil {
			t.Fatal(err)
		}
		raw := c.DialData(ap.String())
		tc := tls.Client(raw, cfg)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.Do(150, "NLST")
		if b, _ := io.ReadAll(tc); !strings.Contains(string(b), "f.txt") {
			t.Errorf("listing %q", b)
		}
		c.Expect(226)
	})
}

// acceptors counts the goroutines of passive acceptors (of every server in
// the test binary: the tests of this package do not run in parallel).
func acceptors() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "ftpserver.(*acceptor)") {
			n++
		}
	}
	return n
}

func TestPassiveAcceptorsDoNotLeak(t *testing.T) {
	srv, _ := startReuse(t, ftpserver.Options{DataTimeout: 5 * time.Second})
	waitFor(t, "no acceptor before the test", func() bool { return acceptors() == 0 })
	c := ftpservertest.Dial(t, srv.Addr)
	cfg := clientTLS(0)
	tlsSession(t, c, cfg, "u")
	// A silent connection keeps a handshake goroutine waiting.
	pending := func() { c.EPSV() }
	for _, tc := range []struct {
		name string
		end  func()
		want int // acceptor goroutines left: the new one of a second EPSV
	}{
		{"a second EPSV", func() { c.EPSVAddr() }, 1},
		{"PORT", func() { c.Do(200, "PORT 127,0,0,1,200,10") }, 0},
		{"ABOR", func() { c.Do(225, "ABOR") }, 0},
		{"PROT C", func() { c.Do(200, "PROT C"); c.Do(200, "PROT P") }, 0},
		{"REIN", func() { c.Do(220, "REIN"); c.Login("u", "p"); c.Do(200, "PBSZ 0"); c.Do(200, "PROT P") }, 0},
		{"a transfer", func() {
			if got, code := retrTLS(t, c, "f.txt", cfg); code != 226 || got != "protected data" {
				t.Fatalf("got %d %q", code, got)
			}
		}, 0},
	} {
		t.Run("ended by "+tc.name, func(t *testing.T) {
			pending()
			if acceptors() == 0 {
				t.Fatal("no acceptor runs after EPSV under PROT P")
			}
			tc.end()
			c.Do(200, "NOOP")
			waitFor(t, "the acceptor to end", func() bool { return acceptors() == tc.want })
		})
	}
	t.Run("ended by the session's end", func(t *testing.T) {
		pending()
		c.Do(221, "QUIT")
		waitFor(t, "the acceptor to end", func() bool { return acceptors() == 0 })
	})
}

func TestRefusedCommandClosesItsPassivePort(t *testing.T) {
	for _, prot := range []string{"C", "P"} {
		t.Run("under PROT "+prot, func(t *testing.T) {
			srv, _ := startReuse(t, ftpserver.Options{})
			c := ftpservertest.Dial(t, srv.Addr)
			tlsSession(t, c, clientTLS(0), "u")
			c.Do(200, "PROT %s", prot)
			addr := c.EPSVAddr()
			c.Do(550, "RETR missing.txt")
			if d, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
				d.Close()
				t.Fatal("the passive port of a refused RETR still accepts connections")
			}
			waitFor(t, "the acceptor to end", func() bool { return acceptors() == 0 })
		})
	}
}
