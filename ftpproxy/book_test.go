package ftpproxy

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
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
	back := startFerry(t, "127.0.0.1:0", nil)
	p, err := New(Options{Backend: back.Addr, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(&failingListener{Listener: ln, n: 4, err: syscall.EMFILE}) }()
	tc := dialProxy(t, ln.Addr().String())
	login(t, tc)
	tc.Do(200, "NOOP")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.Shutdown(ctx)
	if err := <-done; err != ErrServerClosed {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

// dialProxyFrom connects to the proxy from the loopback address local
// (Linux routes all of 127.0.0.0/8 to lo).
func dialProxyFrom(t *testing.T, addr, local string) *ftpservertest.Client {
	t.Helper()
	d := net.Dialer{Timeout: testTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return ftpservertest.NewClient(t, c)
}

// download logs in as u/p and fetches f.bin.
func download(t testing.TB, tc *ftpservertest.Client) []byte {
	t.Helper()
	login(t, tc)
	tc.Do(200, "TYPE I")
	dc := tc.EPSV()
	tc.Do(150, "RETR f.bin")
	b, err := io.ReadAll(dc)
	if err != nil {
		t.Fatal(err)
	}
	tc.Expect(226)
	return b
}

func TestBackendRefusalIsRelayed(t *testing.T) {
	fake := startFake(t, "", func(fc *fakeConn) { fc.send("421 Too many connections from your address.\n") })
	t.Run("in reverse mode the greeting's refusal reaches the client", func(t *testing.T) {
		addr, _ := startProxy(t, "", Options{Backend: fake.Addr})
		tc := dialProxy(t, addr)
		if r := tc.Expect(421); r != "Too many connections from your address." {
			t.Errorf("client got %q", r)
		}
	})
	t.Run("in explicit mode the refusal answers USER", func(t *testing.T) {
		addr, _ := startProxy(t, "", Options{Mode: ModeExplicit, AllowDestinations: []string{"127.0.0.1:*"}})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		if r := tc.Do(421, "USER u@%s", fake.Addr); r != "Too many connections from your address." {
			t.Errorf("client got %q", r)
		}
	})
}

// bigBackend is a ferry backend holding a sparse 256 MiB big.bin.
func bigBackend(t *testing.T, mod func(*ftpserver.Options)) *ferryBackend {
	back := startFerry(t, "127.0.0.1:0", mod)
	big := filepath.Join(back.Dir, "big.bin")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 256<<20); err != nil {
		t.Fatal(err)
	}
	return back
}

func TestCommandsDuringATransfer(t *testing.T) {
	back := bigBackend(t, nil)
	for _, active := range []bool{false, true} {
		name := "passive"
		if active {
			name = "active"
		}
		t.Run("in "+name+" mode STAT and NOOP are answered during a download and ABOR ends it", func(t *testing.T) {
			addr, _ := startProxy(t, "", Options{Backend: back.Addr})
			tc := dialProxy(t, addr)
			login(t, tc)
			tc.Do(200, "TYPE I")
			var dc net.Conn
			if active {
				ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				arg, _ := ftp.FormatPORT(netip.MustParseAddrPort(ln.Addr().String()))
				tc.Do(200, "PORT %s", arg)
				tc.Do(150, "RETR big.bin")
				ln.SetDeadline(time.Now().Add(testTimeout))
				if dc, err = ln.Accept(); err != nil {
					t.Fatal(err)
				}
				defer dc.Close()
				dc.SetDeadline(time.Now().Add(testTimeout))
			} else {
				dc = tc.EPSV()
				tc.Do(150, "RETR big.bin")
			}
			if _, err := io.ReadFull(dc, make([]byte, 64<<10)); err != nil {
				t.Fatal(err)
			}
			if r := tc.Do(ftp.CodeSystemStatus, "STAT"); !strings.Contains(r, "Transfer in progress") {
				t.Errorf("STAT during the transfer: %q", r)
			}
			tc.Do(ftp.CodeOK, "NOOP")
			tc.Raw("\xff\xf4\xff\xf2ABOR\r\n")
			r := tc.ReadReply()
			if r.Code == ftp.CodeTransferAborted || r.Code == ftp.CodeLocalError {
				r = tc.ReadReply()
			}
			if r.Code != ftp.CodeClosingData && r.Code != ftp.CodeDataOpenNoTransfer {
				t.Fatalf("after ABOR: %d %q", r.Code, r.Message())
			}
			if n, _ := io.Copy(io.Discard, dc); n >= 256<<20-64<<10 {
				t.Errorf("the whole file arrived after ABOR")
			}
			tc.Do(ftp.CodeOK, "NOOP")
			tc.Do(ftp.CodeSystemStatus, "STAT")
		})
	}
}

func TestProxyBansAddressesThatFailToLogIn(t *testing.T) {
	// The server never bans: the proxy's own count does.
	back := startFerry(t, "127.0.0.1:0", func(o *ftpserver.Options) { o.MaxLoginFailures = -1 })
	addr, logs := startProxy(t, "", Options{Backend: back.Addr, MaxLoginFailures: 3, BanDuration: time.Minute})
	tc := dialProxyFrom(t, addr, "127.0.0.5")
	tc.Expect(220)
	for i := 0; i < 2; i++ {
		tc.Do(331, "USER u")
		tc.Do(530, "PASS bad")
	}
	tc.Do(331, "USER u")
	tc.Do(421, "PASS bad")
	tc.ExpectClosed()
	waitLog(t, logs, "client address banned")
	again := dialProxyFrom(t, addr, "127.0.0.5")
	if r := again.Expect(421); !strings.Contains(r, "failed logins") {
		t.Errorf("banned address got %q", r)
	}
	other := dialProxyFrom(t, addr, "127.0.0.6")
	back.check(t, download(t, other))
}

func TestProxyCannotBeUsedToLockUsersOut(t *testing.T) {
	// The attack: 11 wrong passwords from 11 addresses, then 40 idle
	// connections from 10 addresses (more than the server's 20 per address
	// and the proxy's 30 sessions), all through the proxy. A server that
	// sees only the proxy's address bans it and fills its per-address cap,
	// locking everyone out; a proxy that counts idle sessions like the
	// others is full.
	attack := func(t *testing.T, addr string) {
		for i := 0; i < 11; i++ {
			tc := dialProxyFrom(t, addr, "127.0.1."+strconv.Itoa(10+i))
			if tc.ReadReply().Code == ftp.CodeNotAvailable {
				continue // the server has already banned the proxy
			}
			tc.Do(331, "USER u")
			tc.Raw("PASS wrong\r\n")
			r := tc.ReadReply()
			if r.Code != ftp.CodeNotLoggedIn && r.Code != ftp.CodeNotAvailable {
				t.Fatalf("wrong password answered %d %q", r.Code, r.Message())
			}
			tc.Conn().Close()
		}
		for i := 0; i < 40; i++ {
			tc := dialProxyFrom(t, addr, "127.0.2."+strconv.Itoa(10+i%10))
			tc.ReadReply() // a greeting or a refusal
		}
	}
	trustProxy := func(o *ftpserver.Options) {
		o.ProxyProtocolFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}

	t.Run("without the PROXY header the server locks every client out", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", nil)
		addr, logs := startProxy(t, "", Options{Backend: back.Addr, MaxSessions: 30})
		waitLog(t, logs, "without a PROXY header")
		attack(t, addr)
		tc := dialProxyFrom(t, addr, "127.0.3.1")
		r := tc.ReadReply()
		if r.Code != ftp.CodeNotAvailable {
			t.Fatalf("the server did not lock the proxy out (got %d %q); the test reproduces nothing", r.Code, r.Message())
		}
		if strings.Contains(r.Message(), "cannot reach") {
			t.Errorf("the server's refusal was not relayed: %q", r.Message())
		}
	})
	t.Run("with the documented PROXY header a legitimate client still logs in and downloads", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", trustProxy)
		addr, _ := startProxy(t, "", Options{Backend: back.Addr, ProxyProtocol: 2, MaxSessions: 30})
		attack(t, addr)
		start := time.Now()
		tc := dialProxyFrom(t, addr, "127.0.3.1")
		back.check(t, download(t, tc))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("logging in and downloading took %v", d)
		}
	})
}

func TestPreLoginFloodThroughTheProxy(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", func(o *ftpserver.Options) {
		o.ProxyProtocolFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.MaxSessionsPerIP = -1
	})
	addr, _ := startProxy(t, "", Options{Backend: back.Addr, ProxyProtocol: 2, MaxSessions: 30, MaxSessionsPerIP: 4})
	early := dialProxyFrom(t, addr, "127.0.4.1")
	login(t, early)
	first := dialProxyFrom(t, addr, "127.0.4.2")
	first.Expect(220)
	var flood []*ftpservertest.Client
	for a := 2; a < 22; a++ { // 80 idle connections from 20 addresses
		for i := 0; i < 4; i++ {
			if a == 2 && i == 0 {
				continue
			}
			flood = append(flood, dialProxyFrom(t, addr, "127.0.4."+strconv.Itoa(a)))
		}
	}
	for _, f := range flood {
		f.ReadReply() // admitted (the server's 220) or refused (421)
	}
	if r := first.ReadReply(); r.Code != ftp.CodeNotAvailable {
		t.Errorf("the oldest idle connection got %d %q, want 421", r.Code, r.Message())
	}
	start := time.Now()
	tc := dialProxyFrom(t, addr, "127.0.5.1")
	back.check(t, download(t, tc))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("logging in and downloading took %v", d)
	}
	early.Do(ftp.CodeOK, "NOOP")
}

func TestWarnsAboutManyClientsWithoutPROXYHeader(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	t.Run("many client addresses forwarded without the header are logged once", func(t *testing.T) {
		addr, logs := startProxy(t, "", Options{Backend: back.Addr})
		for i := 0; i < manyClients; i++ {
			dialProxyFrom(t, addr, "127.0.6."+strconv.Itoa(10+i)).Expect(220)
		}
		waitLog(t, logs, "many clients forwarded without a PROXY header")
		// The server, seeing only the proxy's address, now holds as many
		// sessions from it that have not logged in as it allows one address.
		if r := dialProxyFrom(t, addr, "127.0.6.99").ReadReply(); r.Code != ftp.CodeNotAvailable {
			t.Errorf("the server's per-address cap did not apply: %d %q", r.Code, r.Message())
		}
		if n := strings.Count(logs.String(), "many clients forwarded"); n != 1 {
			t.Errorf("warned %d times, want once", n)
		}
	})
	t.Run("with the header there is no warning", func(t *testing.T) {
		trusting := startFerry(t, "127.0.0.1:0", func(o *ftpserver.Options) {
			o.ProxyProtocolFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		addr, logs := startProxy(t, "", Options{Backend: trusting.Addr, ProxyProtocol: 2})
		for i := 0; i < manyClients; i++ {
			dialProxyFrom(t, addr, "127.0.7."+strconv.Itoa(10+i)).Expect(220)
		}
		if strings.Contains(logs.String(), "PROXY header") {
			t.Errorf("unexpected warning:\n%s", logs)
		}
	})
}
