package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/selfsigned"
	"github.com/ferryftp/ferry/password"
)

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no command is a usage error", nil, 2},
		{"an unknown command is a usage error", []string{"frobnicate"}, 2},
		{"an unknown flag is a usage error", []string{"serve", "--nope"}, 2},
		{"two directories are a usage error", []string{"serve", "a", "b"}, 2},
		{"--config with quick-mode flags is a usage error", []string{"serve", "--config", "x.toml", "--write"}, 2},
		{"a missing directory is a runtime error", []string{"serve", "/does/not/exist", "--listen", "127.0.0.1:0"}, 1},
		{"a missing config file is a runtime error", []string{"serve", "--config", "/does/not/exist.toml"}, 1},
		{"version succeeds", []string{"version"}, 0},
		{"help succeeds", []string{"serve", "--help"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(tc.args, strings.NewReader(""), &out, &errOut); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, errOut.String())
			}
		})
	}
}

func TestPasswdPrintsAVerifiableHash(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"passwd"}, strings.NewReader("s3cret\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	h := strings.TrimSpace(out.String())
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := password.Verify(h, "s3cret"); !ok || err != nil {
		t.Errorf("Verify = %v, %v", ok, err)
	}
	if strings.Contains(out.String()+errOut.String(), "s3cret") {
		t.Error("the password was echoed")
	}
}

// buildFerry compiles the command once per test binary.
func buildFerry(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startFerry runs the binary and waits until it accepts connections.
func startFerry(t *testing.T, bin, addr string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	return startFerryEnv(t, bin, addr, nil, args...)
}

// startFerryEnv is startFerry with extra environment variables.
func startFerryEnv(t *testing.T, bin, addr string, env []string, args ...string) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd, logs
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ferry did not start; logs:\n%s", logs.String())
	return nil, nil
}

type session struct {
	t    *testing.T
	conn net.Conn
	r    *textproto.Reader
}

func connect(t *testing.T, addr string) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	s := &session{t: t, conn: c, r: textproto.NewReader(bufio.NewReader(c))}
	s.do("", 220)
	return s
}

func (s *session) do(line string, want int) string {
	s.t.Helper()
	if line != "" {
		fmt.Fprintf(s.conn, "%s\r\n", line)
	}
	code, msg, err := s.r.ReadResponse(0)
	if code != want {
		s.t.Fatalf("%q: got %d %q (%v), want %d", line, code, msg, err, want)
	}
	return msg
}

func (s *session) retr(name string) string {
	s.t.Helper()
	port, err := ftp.ParseEPSVReply(s.do("EPSV", 229))
	if err != nil {
		s.t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(s.conn.RemoteAddr().String())
	d, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		s.t.Fatal(err)
	}
	s.do("RETR "+name, 150)
	b, _ := io.ReadAll(d)
	d.Close()
	s.do("", 226)
	return string(b)
}

func TestServeQuickModeAndGracefulStop(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from ferry"), 0o644)
	addr := freePort(t)
	cmd, logs := startFerry(t, bin, addr, "serve", dir, "--listen", addr, "--user", "bob:pw")

	s := connect(t, addr)
	s.do("USER anonymous", 331)
	s.do("PASS guest@example.com", 230)
	if got := s.retr("hello.txt"); got != "hello from ferry" {
		t.Errorf("anonymous got %q", got)
	}
	s.do("DELE hello.txt", 550) // quick mode is read-only without --write

	b := connect(t, addr)
	b.do("USER bob", 331)
	b.do("PASS pw", 230)

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), "pw") && strings.Contains(logs.String(), "PASS pw") {
		t.Error("a password reached the log")
	}
}

func TestServeReloadsUsersOnSIGHUP(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("data"), 0o644)
	addr := freePort(t)
	conf := filepath.Join(dir, "ferry.toml")
	writeConf := func(user, pw string) {
		h, err := password.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		c := fmt.Sprintf("listen = %q\n[[users]]\nname = %q\npassword = %q\nroot = %q\n", addr, user, h, root)
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("alice", "one")
	cmd, logs := startFerry(t, bin, addr, "serve", "--config", conf)

	alice := connect(t, addr)
	alice.do("USER alice", 331)
	alice.do("PASS one", 230)

	writeConf("carol", "two")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	carol := connect(t, addr)
	carol.do("USER carol", 331)
	carol.do("PASS two", 230)
	again := connect(t, addr)
	again.do("USER alice", 331)
	again.do("PASS one", 530)
	if got := alice.retr("f.txt"); got != "data" { // the old session survives the reload
		t.Errorf("alice's session got %q after reload", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeTLSQuickMode(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x"), 0o644)
	addr := freePort(t)
	cmd, logs := startFerry(t, bin, addr, "serve", dir, "--listen", addr, "--tls", "--user", "bob:pw")
	s := connect(t, addr)
	if msg := s.do("USER bob", 530); !strings.Contains(msg, "AUTH TLS") {
		t.Errorf("USER before AUTH TLS: %q", msg)
	}
	s.do("AUTH TLS", 234)
	tc := tls.Client(s.conn, &tls.Config{InsecureSkipVerify: true}) // the generated certificate
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	s.conn = tc
	s.r = textproto.NewReader(bufio.NewReader(tc))
	s.do("USER bob", 331)
	s.do("PASS pw", 230)
	if !strings.Contains(logs.String(), "sha256_fingerprint=") {
		t.Errorf("the certificate fingerprint was not logged:\n%s", logs.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

func TestServeReloadsCertificatesOnSIGHUP(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	os.Mkdir(root, 0o755)
	addr := freePort(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert := func() *selfsigned.Cert {
		c, err := selfsigned.Generate("localhost")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(certFile, c.CertPEM, 0o600)
		os.WriteFile(keyFile, c.KeyPEM, 0o600)
		return c
	}
	first := writeCert()
	conf := filepath.Join(dir, "ferry.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen = %q\n[anonymous]\nenabled = true\nroot = %q\n[tls]\nmode = \"optional\"\ncert_file = %q\nkey_file = %q\n",
		addr, root, certFile, keyFile)), 0o600)
	cmd, logs := startFerry(t, bin, addr, "serve", "--config", conf)

	served := func() []byte {
		s := connect(t, addr)
		s.do("AUTH TLS", 234)
		tc := tls.Client(s.conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		s.conn = tc
		s.r = textproto.NewReader(bufio.NewReader(tc))
		s.do("NOOP", 200)
		return tc.ConnectionState().PeerCertificates[0].Raw
	}
	before := connect(t, addr) // a session from before the reload keeps working
	if !bytes.Equal(served(), first.Leaf.Raw) {
		t.Fatal("the server does not present the configured certificate")
	}
	second := writeCert()
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !bytes.Equal(served(), second.Leaf.Raw) {
		t.Error("after SIGHUP the server still presents the old certificate")
	}
	before.do("NOOP", 200)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

func TestServeWarnsWhenAReloadChangesAListenAddress(t *testing.T) {
	bin := buildFerry(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	os.Mkdir(root, 0o755)
	addr, other := freePort(t), freePort(t)
	conf := filepath.Join(dir, "ferry.toml")
	h, err := password.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	writeConf := func(listen, banner string) {
		c := fmt.Sprintf("listen = %q\nbanner = %q\n[[users]]\nname = \"alice\"\npassword = %q\nroot = %q\n", listen, banner, h, root)
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reload := func(cmd *exec.Cmd, logs *lockedBuffer, n int) {
		t.Helper()
		cmd.Process.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(logs.String(), "configuration reloaded") < n && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if strings.Count(logs.String(), "configuration reloaded") < n {
			t.Fatalf("no reload after SIGHUP:\n%s", logs.String())
		}
	}
	writeConf(addr, "first")
	cmd, logs := startFerry(t, bin, addr, "serve", "--config", conf)

	writeConf(addr, "second")
	reload(cmd, logs, 1)
	if strings.Contains(logs.String(), "restart ferry") {
		t.Errorf("a reload that keeps the address warned:\n%s", logs.String())
	}
	writeConf(other, "third")
	reload(cmd, logs, 2)
	if !strings.Contains(logs.String(), "listen changed in the configuration; restart ferry") || !strings.Contains(logs.String(), other) ||
		strings.Contains(logs.String(), "admin.listen changed") {
		t.Errorf("no restart warning naming the new address:\n%s", logs.String())
	}
	// Still served on the old address, with the rest of the file reloaded.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if greeting, err := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(greeting, "220 third") {
		t.Errorf("greeting after the reload: %q, %v", greeting, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ferry exited with %v; logs:\n%s", err, logs.String())
	}
}
