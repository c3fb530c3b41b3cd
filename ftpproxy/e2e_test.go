package ftpproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/selfsigned"
	"github.com/ferryftp/ferry/storage/localfs"
)

// need finds an interop client or skips (fails under FERRY_REQUIRE_INTEROP=1).
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("FERRY_REQUIRE_INTEROP") == "1" {
			t.Fatalf("%s is required (FERRY_REQUIRE_INTEROP=1): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// run runs a client program with a time limit.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ferryBackend serves a temporary directory holding f.bin (1 MiB of random
// bytes) to user u, password p.
type ferryBackend struct {
	Srv  *ftpservertest.Server
	Addr string
	Dir  string
	Data []byte
}

func startFerry(t *testing.T, addr string, mod func(*ftpserver.Options)) *ferryBackend {
	t.Helper()
	dir := t.TempDir()
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	opts := ftpserver.Options{Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})}
	if mod != nil {
		mod(&opts)
	}
	s := ftpservertest.Start(t, addr, opts)
	return &ferryBackend{Srv: s, Addr: s.Addr, Dir: dir, Data: data}
}

func (b *ferryBackend) check(t *testing.T, got []byte) {
	t.Helper()
	if !bytes.Equal(got, b.Data) {
		t.Errorf("downloaded %d bytes, want the %d of f.bin", len(got), len(b.Data))
	}
}

func hostURL(addr string) string {
	return "ftp://u:p@" + addr
}

func TestCurlThroughProxy(t *testing.T) {
	curl := need(t, "curl")
	back := startFerry(t, "127.0.0.1:0", nil)
	addr, logs := startProxy(t, "", Options{Backend: back.Addr})
	out := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		mode string
	}{
		{"curl downloads with EPSV through the proxy", nil, "client_mode=passive server_mode=passive"},
		{"curl downloads with PASV through the proxy", []string{"--disable-epsv"}, "client_mode=passive"},
		{"curl downloads in active mode with EPRT through the proxy", []string{"-P", "127.0.0.1"}, "client_mode=active server_mode=active"},
		{"curl downloads in active mode with PORT through the proxy", []string{"-P", "127.0.0.1", "--disable-eprt"}, "client_mode=active"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(out, "got")
			args := append([]string{"-sS", "--max-time", "20", "-o", dst}, c.args...)
			run(t, curl, append(args, hostURL(addr)+"/f.bin")...)
			got, _ := os.ReadFile(dst)
			back.check(t, got)
			waitLog(t, logs, c.mode)
		})
	}
	t.Run("curl uploads through the proxy in both modes", func(t *testing.T) {
		src := filepath.Join(out, "src")
		os.WriteFile(src, back.Data[:300000], 0o644)
		run(t, curl, "-sS", "--max-time", "20", "-T", src, hostURL(addr)+"/up1.bin")
		run(t, curl, "-sS", "--max-time", "20", "-P", "127.0.0.1", "-T", src, hostURL(addr)+"/up2.bin")
		for _, n := range []string{"up1.bin", "up2.bin"} {
			got, _ := os.ReadFile(filepath.Join(back.Dir, n))
			if !bytes.Equal(got, back.Data[:300000]) {
				t.Errorf("%s: %d bytes arrived", n, len(got))
			}
		}
	})
	t.Run("curl lists a directory through the proxy", func(t *testing.T) {
		if got := run(t, curl, "-sS", "--max-time", "20", hostURL(addr)+"/"); !strings.Contains(got, "f.bin") {
			t.Errorf("listing: %q", got)
		}
	})
}

func TestLftpThroughProxy(t *testing.T) {
	lftp := need(t, "lftp")
	back := startFerry(t, "127.0.0.1:0", nil)
	addr, _ := startProxy(t, "", Options{Backend: back.Addr})
	host, port, _ := net.SplitHostPort(addr)
	for _, passive := range []string{"on", "off"} {
		t.Run("lftp gets and lists with passive-mode "+passive, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "got")
			script := fmt.Sprintf("set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; set ftp:passive-mode %s; get f.bin -o %s; cls; bye", passive, dst)
			got := run(t, lftp, "-u", "u,p", "-p", port, "-e", script, host)
			if !strings.Contains(got, "f.bin") {
				t.Errorf("listing: %q", got)
			}
			b, _ := os.ReadFile(dst)
			back.check(t, b)
		})
	}
}

func TestLftpUsesTheGatewayAsItsFTPProxy(t *testing.T) {
	lftp := need(t, "lftp")
	back := startFerry(t, "127.0.0.1:0", nil)
	addr, logs := startProxy(t, "", Options{Mode: ModeExplicit, AllowDestinations: []string{"127.0.0.1:*"}})
	host, port, _ := net.SplitHostPort(back.Addr)
	dst := filepath.Join(t.TempDir(), "got")
	script := fmt.Sprintf("set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; set ftp:proxy ftp://%s; get f.bin -o %s; bye", addr, dst)
	run(t, lftp, "-u", "u,p", "-p", port, "-e", script, host)
	b, _ := os.ReadFile(dst)
	back.check(t, b)
	waitLog(t, logs, "server="+back.Addr)
}

func TestIPv4AndIPv6(t *testing.T) {
	curl := need(t, "curl")
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	for _, c := range []struct {
		name, proxyAt, backendAt, url string
		args                          []string
	}{
		{"an IPv4 client reaches an IPv6 server in passive mode", "127.0.0.1:0", "[::1]:0", "", []string{"--disable-epsv"}},
		{"an IPv4 client reaches an IPv6 server in active mode", "127.0.0.1:0", "[::1]:0", "", []string{"-P", "127.0.0.1", "--disable-eprt"}},
		{"an IPv6 client reaches an IPv4 server in passive mode", "[::1]:0", "127.0.0.1:0", "", nil},
		{"an IPv6 client reaches an IPv4 server in active mode", "[::1]:0", "127.0.0.1:0", "", []string{"-P", "::1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			back := startFerry(t, c.backendAt, nil)
			addr, logs := startProxy(t, c.proxyAt, Options{Backend: back.Addr})
			dst := filepath.Join(t.TempDir(), "got")
			args := append([]string{"-g", "-sS", "--max-time", "20", "-o", dst}, c.args...)
			run(t, curl, append(args, hostURL(addr)+"/f.bin")...)
			b, _ := os.ReadFile(dst)
			back.check(t, b)
			waitLog(t, logs, "command=RETR")
		})
	}
}

func TestModeConversionWithFerry(t *testing.T) {
	curl := need(t, "curl")
	back := startFerry(t, "127.0.0.1:0", nil)
	for _, c := range []struct {
		name string
		mode DataMode
		args []string
		want string
	}{
		{"an active client is served through a passive server side", DataPassive, []string{"-P", "127.0.0.1"}, "client_mode=active server_mode=passive"},
		{"a passive client is served through an active server side", DataActive, nil, "client_mode=passive server_mode=active"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, logs := startProxy(t, "", Options{Backend: back.Addr, ServerData: c.mode, DataPortMin: 40000, DataPortMax: 40999})
			dst := filepath.Join(t.TempDir(), "got")
			args := append([]string{"-sS", "--max-time", "20", "-o", dst}, c.args...)
			run(t, curl, append(args, hostURL(addr)+"/f.bin")...)
			b, _ := os.ReadFile(dst)
			back.check(t, b)
			waitLog(t, logs, c.want)
		})
	}
}

func TestPortStealing(t *testing.T) {
	back := startFerry(t, "127.0.0.1:0", nil)
	t.Run("a connection to the proxy's passive port from another address is dropped and the client still gets its data", func(t *testing.T) {
		addr, logs := startProxy(t, "", Options{Backend: back.Addr})
		tc := dialProxy(t, addr)
		login(t, tc)
		tc.Do(200, "TYPE I")
		rep := tc.Do(227, "PASV")
		ap, err := ftp.ParsePASVReply(rep)
		if err != nil {
			t.Fatal(err)
		}
		thief := net.Dialer{Timeout: testTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		tcn, err := thief.Dial("tcp", ap.String())
		if err != nil {
			t.Skipf("cannot dial from 127.0.0.2: %v", err)
		}
		tc.Raw("RETR f.bin\r\n")
		tcn.SetDeadline(time.Now().Add(testTimeout))
		if n, _ := tcn.Read(make([]byte, 1)); n != 0 {
			t.Error("the thief received data")
		}
		tcn.Close()
		waitLog(t, logs, "foreign address dropped")
		c, err := net.DialTimeout("tcp", ap.String(), testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(testTimeout))
		var buf bytes.Buffer
		buf.ReadFrom(c)
		c.Close()
		tc.Expect(150)
		tc.Expect(226)
		back.check(t, buf.Bytes())
	})
}

func TestTLSPerSide(t *testing.T) {
	curl := need(t, "curl")
	cert, err := selfsigned.Generate("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	proxyTLS := &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	t.Run("a TLS client reaches a plain server through explicit TLS on the proxy", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", nil)
		addr, logs := startProxy(t, "", Options{Backend: back.Addr, ClientTLS: proxyTLS, ClientTLSMode: TLSExplicit, RequireClientTLS: true})
		dst := filepath.Join(t.TempDir(), "got")
		run(t, curl, "-sS", "--max-time", "20", "--ssl-reqd", "-k", "-o", dst, hostURL(addr)+"/f.bin")
		b, _ := os.ReadFile(dst)
		back.check(t, b)
		waitLog(t, logs, "client_tls=true server_tls=false")
	})
	t.Run("a plain client is refused when the proxy requires TLS", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", nil)
		addr, _ := startProxy(t, "", Options{Backend: back.Addr, ClientTLS: proxyTLS, ClientTLSMode: TLSExplicit, RequireClientTLS: true})
		tc := dialProxy(t, addr)
		tc.Expect(220)
		tc.Do(530, "USER u")
	})
	t.Run("an implicit TLS client reaches a plain server", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", nil)
		addr, _ := startProxy(t, "", Options{Backend: back.Addr, ClientTLS: proxyTLS, ClientTLSMode: TLSImplicit})
		dst := filepath.Join(t.TempDir(), "got")
		run(t, curl, "-sS", "--max-time", "20", "-k", "-o", dst, "ftps://u:p@"+addr+"/f.bin")
		b, _ := os.ReadFile(dst)
		back.check(t, b)
	})
	serverCert, err := selfsigned.Generate("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tlsServer := func(o *ftpserver.Options) {
		o.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert.TLS}}
		o.TLSMode = ftpserver.TLSRequired
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"passive", nil}, {"active", []string{"-P", "127.0.0.1"}}} {
		t.Run("a plain client reaches a TLS-only ferry server with session reuse on data connections, "+mode.name, func(t *testing.T) {
			back := startFerry(t, "127.0.0.1:0", tlsServer)
			addr, logs := startProxy(t, "", Options{Backend: back.Addr, BackendTLSMode: TLSExplicit,
				BackendTLS: &tls.Config{RootCAs: serverCert.Pool(), ServerName: "localhost"}})
			dst := filepath.Join(t.TempDir(), "got")
			for range 2 { // twice: a second session must not reuse the first's ticket
				args := append([]string{"-sS", "--max-time", "20", "-o", dst}, mode.args...)
				run(t, curl, append(args, hostURL(addr)+"/f.bin", hostURL(addr)+"/")...)
				b, _ := os.ReadFile(dst)
				back.check(t, b)
			}
			waitLog(t, logs, "client_tls=false server_tls=true")
		})
	}
	t.Run("a plain client reaches an implicit-TLS ferry server", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", tlsServer)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go back.Srv.ServeImplicitTLS(l)
		addr, _ := startProxy(t, "", Options{Backend: l.Addr().String(), BackendTLSMode: TLSImplicit,
			BackendTLS: &tls.Config{RootCAs: serverCert.Pool(), ServerName: "localhost"}})
		dst := filepath.Join(t.TempDir(), "got")
		run(t, curl, "-sS", "--max-time", "20", "-o", dst, hostURL(addr)+"/f.bin")
		b, _ := os.ReadFile(dst)
		back.check(t, b)
	})
	t.Run("a server certificate that does not verify ends the session with 421", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", tlsServer)
		addr, logs := startProxy(t, "", Options{Backend: back.Addr, BackendTLSMode: TLSExplicit})
		tc := dialProxy(t, addr)
		tc.Expect(421)
		waitLog(t, logs, "certificate")
	})
	t.Run("TLS on both sides with different certificates", func(t *testing.T) {
		back := startFerry(t, "127.0.0.1:0", tlsServer)
		addr, _ := startProxy(t, "", Options{Backend: back.Addr, ClientTLS: proxyTLS, ClientTLSMode: TLSExplicit,
			BackendTLSMode: TLSExplicit, BackendTLS: &tls.Config{RootCAs: serverCert.Pool(), ServerName: "localhost"}})
		dst := filepath.Join(t.TempDir(), "got")
		run(t, curl, "-sS", "--max-time", "20", "--ssl-reqd", "-k", "-o", dst, hostURL(addr)+"/f.bin")
		b, _ := os.ReadFile(dst)
		back.check(t, b)
	})
}

func TestPROXYProtocolTowardFerry(t *testing.T) {
	curl := need(t, "curl")
	// ferry trusts the proxy's PROXY headers; it then sees the client's
	// address on the control connection and on passive data connections.
	var xfer syncLog
	back := startFerry(t, "127.0.0.1:0", func(o *ftpserver.Options) {
		o.ProxyProtocolFrom = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.Logger = slog.New(slog.NewTextHandler(&xfer, nil))
	})
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("transfers work with version %d headers and a passive server side", v), func(t *testing.T) {
			addr, _ := startProxy(t, "", Options{Backend: back.Addr, ProxyProtocol: v, ServerData: DataPassive})
			dst := filepath.Join(t.TempDir(), "got")
			run(t, curl, "-sS", "--max-time", "20", "--interface", "127.0.0.9", "-o", dst, hostURL(addr)+"/f.bin")
			b, _ := os.ReadFile(dst)
			back.check(t, b)
			if !strings.Contains(xfer.String(), "remote=127.0.0.9:") {
				t.Errorf("ferry did not see the client's address:\n%s", xfer.String())
			}
		})
	}
}

// syncLog is a log sink that tests read while servers write.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
