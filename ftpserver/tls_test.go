package ftpserver_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/selfsigned"
	"github.com/ferryftp/ferry/storage/memfs"
)

var testCert = func() *selfsigned.Cert {
	c, err := selfsigned.Generate("ferry.test", "127.0.0.1")
	if err != nil {
		panic(err)
	}
	return c
}()

func startTLS(t *testing.T, opts ftpserver.Options) *ftpservertest.Server {
	t.Helper()
	fsys := memfs.New()
	fsys.WriteFile("f.txt", []byte("protected data"))
	opts.TLS = &tls.Config{Certificates: []tls.Certificate{testCert.TLS}}
	opts.Auth = ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})
	return ftpservertest.Start(t, "", opts)
}

// clientTLS is a TLS client config whose session cache the control and data
// connections share, as curl and lftp do.
func clientTLS(maxVersion uint16) *tls.Config {
	return &tls.Config{
		ServerName:         "ferry.test",
		RootCAs:            testCert.Pool(),
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		MaxVersion:         maxVersion,
	}
}

func TestFTPSExplicit(t *testing.T) {
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS 1.3", tls.VersionTLS13}, {"TLS 1.2", tls.VersionTLS12}} {
		t.Run("a "+v.name+" data connection that resumes the control session transfers", func(t *testing.T) {
			srv := startTLS(t, ftpserver.Options{})
			c := ftpservertest.Dial(t, srv.Addr)
			if msg := c.Do(211, "FEAT"); !strings.Contains(msg, "AUTH TLS") || !strings.Contains(msg, "PROT") {
				t.Fatalf("FEAT = %q", msg)
			}
			cfg := clientTLS(v.max)
			c.StartTLS(cfg)
			c.Login("u", "p")
			c.Do(200, "PBSZ 0")
			c.Do(200, "PROT P")
			for i := 0; i < 2; i++ {
				if got, code := retrTLS(t, c, "f.txt", cfg); code != 226 || got != "protected data" {
					t.Fatalf("transfer %d: %d %q", i, code, got)
				}
			}
		})
	}
	t.Run("a data connection that does not resume is refused with 522", func(t *testing.T) {
		// It is dropped and the server waits on for the real client's
		// (a thief may have come first), so the 522 comes at DataTimeout.
		srv := startTLS(t, ftpserver.Options{DataTimeout: 2 * time.Second})
		c := ftpservertest.Dial(t, srv.Addr)
		c.StartTLS(clientTLS(0))
		c.Login("u", "p")
		c.Do(200, "PBSZ 0")
		c.Do(200, "PROT P")
		if got, code := retrTLS(t, c, "f.txt", clientTLS(0)); code != 522 || got != "" {
			t.Errorf("got %d %q, want 522 and no data", code, got)
		}
		c.Do(200, "NOOP")
	})
	t.Run("with relaxed reuse a full handshake is accepted", func(t *testing.T) {
		srv := startTLS(t, ftpserver.Options{TLSReuse: ftpserver.ReuseRelaxed})
		c := ftpservertest.Dial(t, srv.Addr)
		c.StartTLS(clientTLS(0))
		c.Login("u", "p")
		c.Do(200, "PBSZ 0")
		c.Do(200, "PROT P")
		if got, code := retrTLS(t, c, "f.txt", clientTLS(0)); code != 226 || got != "protected data" {
			t.Errorf("got %d %q", code, got)
		}
	})
	t.Run("PBSZ and PROT need AUTH TLS, and PROT needs PBSZ", func(t *testing.T) {
		srv := startTLS(t, ftpserver.Options{})
		c := ftpservertest.Dial(t, srv.Addr)
		c.Do(503, "PBSZ 0")
		c.Do(503, "PROT P")
		c.StartTLS(clientTLS(0))
		c.Do(503, "PROT P")
		c.Do(200, "PBSZ 0")
		c.Do(504, "PROT S")
		c.Do(200, "PROT C")
	})
}

func TestFTPSRequired(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{TLSMode: ftpserver.TLSRequired})
	c := ftpservertest.Dial(t, srv.Addr)
	if msg := c.Do(530, "USER u"); !strings.Contains(msg, "AUTH TLS") {
		t.Errorf("USER before AUTH: %q", msg)
	}
	c.Do(530, "PASS p")
	cfg := clientTLS(0)
	c.StartTLS(cfg)
	c.Login("u", "p")
	c.Do(200, "PBSZ 0")
	c.Do(534, "PROT C")
	d := c.EPSV()
	d.Close()
	c.Do(521, "RETR f.txt")
	c.Do(200, "PROT P")
	if got, code := retrTLS(t, c, "f.txt", cfg); code != 226 || got != "protected data" {
		t.Errorf("got %d %q", code, got)
	}
}

func TestPlainTextPipelinedAfterAUTHIsDiscarded(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{})
	c := ftpservertest.Dial(t, srv.Addr)
	// An attacker in the path appends a command to the client's AUTH TLS.
	c.Send("AUTH TLS\r\nUSER u\r\nPASS p")
	c.Expect(234)
	tc := tls.Client(c.Conn(), clientTLS(0))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.SetConn(tc)
	// Had USER/PASS run, PWD would succeed; the first reply would be 331.
	c.Do(530, "PWD")
}

func TestTLSClientOfferingOnlyAnotherALPNIsRefused(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{})
	for _, tc := range []struct {
		name   string
		protos []string
		ok     bool
	}{
		{"no ALPN is accepted", nil, true},
		{"ALPN ftp is accepted", []string{"ftp"}, true},
		{"ALPN http/1.1 alone is refused", []string{"http/1.1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ftpservertest.Dial(t, srv.Addr)
			c.Do(234, "AUTH TLS")
			cfg := clientTLS(0)
			cfg.NextProtos = tc.protos
			err := tls.Client(c.Conn(), cfg).Handshake()
			if (err == nil) != tc.ok {
				t.Errorf("handshake error %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestGarbageInsteadOfClientHelloDropsOnlyThatSession(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{TLSHandshakeTimeout: 2 * time.Second})
	good := ftpservertest.Dial(t, srv.Addr)
	bad := ftpservertest.Dial(t, srv.Addr)
	bad.Do(234, "AUTH TLS")
	bad.Conn().Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	bad.Conn().SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(bad.Conn()) // the server closes it
	good.StartTLS(clientTLS(0))
	good.Login("u", "p")
}

func TestImplicitFTPS(t *testing.T) {
	fsys := memfs.New()
	fsys.WriteFile("f.txt", []byte("implicit"))
	srv, err := ftpserver.New(ftpserver.Options{
		TLS:            &tls.Config{Certificates: []tls.Certificate{testCert.TLS}},
		Auth:           ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
		LoginFailDelay: -1,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeImplicitTLS(l)
	t.Cleanup(func() { srv.Shutdown(t.Context()) })
	cfg := clientTLS(0)
	conn, err := tls.Dial("tcp", l.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := ftpservertest.NewClient(t, conn)
	c.Expect(220)
	c.Login("u", "p")
	// Implicit FTPS protects data connections without PBSZ/PROT.
	if got, code := retrTLS(t, c, "f.txt", cfg); code != 226 || got != "implicit" {
		t.Errorf("got %d %q", code, got)
	}
}

func TestCCC(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{AllowCCC: true})
	c := ftpservertest.Dial(t, srv.Addr)
	raw := c.Conn()
	c.Do(234, "AUTH TLS")
	// Like the server, the client must not read past the TLS records.
	tc := tls.Client(ftpserver.NewRecordConn(raw), clientTLS(0))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.SetConn(tc)
	c.Login("u", "p")
	c.Do(200, "CCC")
	// close_notify and the next clear-text command leave in one burst, so
	// the server receives them together.
	tc.CloseWrite()
	raw.SetDeadline(time.Now().Add(20 * time.Second)) // CloseWrite left a past write deadline
	io.WriteString(raw, "PWD\r\n")
	io.Copy(io.Discard, tc) // the server's close_notify
	c.SetConn(raw)
	c.Expect(257)
	c.Do(200, "NOOP")
}

func TestCCCRefusedByDefault(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{})
	c := ftpservertest.Dial(t, srv.Addr)
	c.StartTLS(clientTLS(0))
	c.Login("u", "p")
	c.Do(534, "CCC")
	c.Do(257, "PWD")
}

func TestPerUserTLSRequirement(t *testing.T) {
	fsys := memfs.New()
	srv := ftpservertest.Start(t, "", ftpserver.Options{
		TLS: &tls.Config{Certificates: []tls.Certificate{testCert.TLS}},
		Auth: ftpserver.AuthenticatorFunc(func(_ context.Context, l ftpserver.LoginInfo) (*ftpserver.Identity, error) {
			return &ftpserver.Identity{User: l.User, FS: fsys, Perms: ftpserver.PermAll, RequireTLS: l.User == "secure"}, nil
		}),
	})
	c := ftpservertest.Dial(t, srv.Addr)
	c.Do(331, "USER secure")
	c.Do(530, "PASS x")
	c.Login("plain", "x")
	s := ftpservertest.Dial(t, srv.Addr)
	s.StartTLS(clientTLS(0))
	s.Login("secure", "x")
}

func TestRequiredSNI(t *testing.T) {
	srv := startTLS(t, ftpserver.Options{RequireSNI: "ferry.test"})
	c := ftpservertest.Dial(t, srv.Addr)
	c.StartTLS(clientTLS(0))
	d := ftpservertest.Dial(t, srv.Addr)
	d.Do(234, "AUTH TLS")
	cfg := clientTLS(0)
	cfg.ServerName = ""
	cfg.InsecureSkipVerify = true
	if err := tls.Client(d.Conn(), cfg).Handshake(); err == nil {
		t.Error("handshake without SNI succeeded")
	}
}

func TestTicketlessTLS12Clients(t *testing.T) {
	// curl with OpenSSL offers no session tickets under TLS 1.2; Go's TLS
	// stack cannot resume by session ID, so the default policy lets such a
	// client's data connections through and ReuseStrict refuses them.
	for _, tc := range []struct {
		name   string
		policy ftpserver.ReusePolicy
		want   int
	}{
		{"the default policy accepts them", ftpserver.ReuseRequired, 226},
		{"the strict policy refuses them", ftpserver.ReuseStrict, 522},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTLS(t, ftpserver.Options{TLSReuse: tc.policy, DataTimeout: 2 * time.Second})
			c := ftpservertest.Dial(t, srv.Addr)
			cfg := clientTLS(tls.VersionTLS12)
			cfg.SessionTicketsDisabled = true
			c.StartTLS(cfg)
			c.Login("u", "p")
			c.Do(200, "PBSZ 0")
			c.Do(200, "PROT P")
			if _, code := retrTLS(t, c, "f.txt", cfg); code != tc.want {
				t.Errorf("got %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("a TLS 1.3 client is never exempt", func(t *testing.T) {
		srv := startTLS(t, ftpserver.Options{DataTimeout: 2 * time.Second})
		c := ftpservertest.Dial(t, srv.Addr)
		c.StartTLS(clientTLS(tls.VersionTLS13))
		c.Login("u", "p")
		c.Do(200, "PBSZ 0")
		c.Do(200, "PROT P")
		if _, code := retrTLS(t, c, "f.txt", clientTLS(0)); code != 522 {
			t.Errorf("got %d, want 522", code)
		}
	})
}
