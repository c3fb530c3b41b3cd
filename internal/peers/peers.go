// Package peers starts real third-party FTP servers (vsftpd, pure-ftpd,
// proftpd) for interoperability tests and benchmarks, and the SuSE
// proxy-suite ftp-proxy ([StartFTPProxy]) as a baseline for ferry's proxy.
//
// The servers come from Debian packages that are downloaded with
// "apt-get download" and unpacked with "dpkg-deb -x" into a cache folder, so
// they are never installed system-wide and all three (which conflict as
// packages) run side by side on different loopback ports. Shared libraries the
// machine lacks are fetched the same way and found through LD_LIBRARY_PATH.
//
// The cache folder is $FERRY_PEERS_CACHE, else /var/cache/ferry-peers when
// running as root, else os.UserCacheDir()/ferry-peers.
//
// Accounts: every kind logs in as the system user "ferrypeer" (created with
// useradd on first use; its shell is nologin) with the password
// [DefaultPassword]. vsftpd and proftpd authenticate it through PAM/shadow,
// pure-ftpd through a per-server puredb virtual user mapped to that uid.
// Starting a peer therefore needs root; otherwise Start skips the test.
//
// When a peer cannot be obtained (no network, not root, ...), Start calls
// t.Skip with the reason, unless FERRY_REQUIRE_PEERS=1, in which case it calls
// t.Fatal.
package peers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/proc"
)

// Kinds of peer servers.
const (
	Vsftpd   = "vsftpd"
	PureFTPd = "pure-ftpd"
	ProFTPd  = "proftpd"
)

// Kinds lists every supported kind.
var Kinds = []string{Vsftpd, PureFTPd, ProFTPd}

// UserName is the system account the peers log in as.
const UserName = "ferrypeer"

// DefaultPassword is the password of [UserName]. The account exists only for
// tests on throw-away machines and has no login shell.
const DefaultPassword = "ferry-peer-Pw-1"

// Options configures a peer server.
type Options struct {
	// IPv6 listens on [::1] instead of 127.0.0.1.
	IPv6 bool
	// CertFile and KeyFile (PEM) enable TLS. For vsftpd this turns on
	// ssl_enable with require_ssl_reuse=YES and forces TLS for logins and
	// data; for pure-ftpd TLS is optional (-Y 1) unless RequireTLS.
	CertFile, KeyFile string
	// RequireTLS refuses plaintext logins (pure-ftpd; vsftpd always does
	// when TLS is on).
	RequireTLS bool
	// NoSSLReuse turns off vsftpd's require_ssl_reuse.
	NoSSLReuse bool
	// ImplicitTLS makes vsftpd speak TLS from the first byte (implicit
	// FTPS, implicit_ssl=YES); it needs CertFile. vsftpd only.
	ImplicitTLS bool
	// Root is the directory served; default a new temporary directory.
	Root string
	// PassivePorts is the passive port range as "lo-hi"; default a random
	// range of 200 ports.
	PassivePorts [2]int
	// Extra lines appended to the generated configuration file (vsftpd,
	// proftpd) or extra command-line arguments (pure-ftpd).
	Extra []string
}

// Server is a running peer.
type Server struct {
	Kind     string
	Addr     string // host:port of the control connection
	Root     string // directory served (the user's root)
	User     string
	Password string

	implicit bool
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
}

// packages lists the Debian packages that carry each kind.
var packages = map[string][]string{
	Vsftpd:   {"vsftpd"},
	PureFTPd: {"pure-ftpd", "pure-ftpd-common"},
	ProFTPd:  {"proftpd-core"},
}

// binaries names the server binary of each kind, relative to the cache root.
var binaries = map[string]string{
	Vsftpd:   "usr/sbin/vsftpd",
	PureFTPd: "usr/sbin/pure-ftpd",
	ProFTPd:  "usr/sbin/proftpd",
}

// CacheDir returns the folder that holds downloaded packages and unpacked trees.
func CacheDir() string {
	if d := os.Getenv("FERRY_PEERS_CACHE"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/cache/ferry-peers"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "ferry-peers")
	}
	return filepath.Join(os.TempDir(), "ferry-peers")
}

var (
	availMu sync.Mutex
	avail   = map[string]error{}
)

// Available makes sure the packages of kind are downloaded and unpacked, and
// reports why the kind cannot be started if it cannot. It is cheap after the
// first call.
func Available(kind string) error {
	availMu.Lock()
	defer availMu.Unlock()
	if err, ok := avail[kind]; ok {
		return err
	}
	err := prepare(kind)
	avail[kind] = err
	return err
}

func prepare(kind string) error {
	pkgs, ok := packages[kind]
	if !ok {
		return fmt.Errorf("peers: unknown kind %q (want one of %v)", kind, Kinds)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("peers: %s needs root (to run the server and create user %s)", kind, UserName)
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("peers: %s not found: not a Debian system?", tool)
		}
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return fmt.Errorf("peers: lock cache: %w", err)
	}
	defer unlock()

	root := filepath.Join(dir, "root")
	if _, err := os.Stat(filepath.Join(root, binaries[kind])); err != nil {
		want := append([]string(nil), pkgs...)
		want = append(want, missingLibs(pkgs)...)
		for _, p := range want {
			if err := fetch(dir, root, p); err != nil {
				return err
			}
		}
		if _, err := os.Stat(filepath.Join(root, binaries[kind])); err != nil {
			return fmt.Errorf("peers: %s not found after unpacking %v", binaries[kind], want)
		}
	}
	return ensureUser()
}

var aptUpdated bool

// fetch downloads package p into dir (once) and unpacks it into root.
func fetch(dir, root, p string) error {
	marker := filepath.Join(dir, "."+p+".unpacked")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	debs := filepath.Join(dir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	download := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "download", p)
		cmd.Dir = debs
		return cmd.CombinedOutput()
	}
	out, err := download()
	if err != nil && !aptUpdated {
		aptUpdated = true
		if uout, uerr := exec.Command("apt-get", "update").CombinedOutput(); uerr != nil {
			return fmt.Errorf("peers: apt-get update: %v\n%s", uerr, uout)
		}
		out, err = download()
	}
	if err != nil {
		return fmt.Errorf("peers: apt-get download %s: %v\n%s", p, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(debs, p+"_*.deb"))
	if len(matches) == 0 {
		return fmt.Errorf("peers: apt-get download %s left no .deb in %s", p, debs)
	}
	for _, m := range matches {
		if out, err := exec.Command("dpkg-deb", "-x", m, root).CombinedOutput(); err != nil {
			return fmt.Errorf("peers: dpkg-deb -x %s: %v\n%s", m, err, out)
		}
	}
	return os.WriteFile(marker, nil, 0o644)
}

// missingLibs returns the library packages (lib*) that pkgs depend on,
// directly or through other missing libraries, and that are not installed.
func missingLibs(pkgs []string) []string {
	seen := map[string]bool{}
	var missing []string
	queue := append([]string(nil), pkgs...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out, err := exec.Command("apt-cache", "depends", "--no-recommends", "--no-suggests",
			"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", p).Output()
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			line = strings.TrimPrefix(line, "|")
			dep, ok := strings.CutPrefix(line, "Depends: ")
			if !ok {
				dep, ok = strings.CutPrefix(line, "PreDepends: ")
			}
			if !ok || !strings.HasPrefix(dep, "lib") || strings.HasPrefix(dep, "<") || seen[dep] {
				continue
			}
			seen[dep] = true
			if installed(dep) {
				continue
			}
			missing = append(missing, dep)
			queue = append(queue, dep)
		}
	}
	return missing
}

func installed(p string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output()
	return err == nil && strings.Contains(string(out), "ok installed")
}

// ensureUser creates the system account the peers log in as and sets its password.
func ensureUser() error {
	if _, err := user.Lookup(UserName); err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home",
			"--home-dir", "/", "--shell", "/usr/sbin/nologin", UserName).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "already exists") {
			return fmt.Errorf("peers: useradd %s: %v\n%s", UserName, err, out)
		}
	}
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(UserName + ":" + DefaultPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("peers: chpasswd: %v\n%s", err, out)
	}
	return nil
}

func userIDs() (uid, gid int, err error) {
	u, err := user.Lookup(UserName)
	if err != nil {
		return 0, 0, err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// Start starts a server of the given kind on a free loopback port and stops it
// when the test ends. It skips the test (or fails it with
// FERRY_REQUIRE_PEERS=1) when the kind is not available.
func Start(t testing.TB, kind string, opts Options) *Server {
	t.Helper()
	if err := Available(kind); err != nil {
		if os.Getenv("FERRY_REQUIRE_PEERS") == "1" {
			t.Fatalf("peer %s required (FERRY_REQUIRE_PEERS=1) but unavailable: %v", kind, err)
		}
		t.Skipf("peer %s unavailable: %v", kind, err)
	}
	s, err := start(t, kind, opts)
	if err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	return s
}

func start(t testing.TB, kind string, opts Options) (*Server, error) {
	uid, gid, err := userIDs()
	if err != nil {
		return nil, err
	}
	// A world-traversable work folder: the servers act as the peer user.
	work, err := os.MkdirTemp("", "ferry-peer-"+kind+"-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	root := opts.Root
	if root == "" {
		root = filepath.Join(work, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(root, uid, gid); err != nil {
		return nil, err
	}
	host := "127.0.0.1"
	if opts.IPv6 {
		host = "::1"
	}
	port, err := freePort(host)
	if err != nil {
		return nil, err
	}
	pasv := opts.PassivePorts
	if pasv[0] == 0 {
		lo := 30000 + rand.IntN(280)*100
		pasv = [2]int{lo, lo + 99}
	}
	s := &Server{
		Kind: kind, Addr: net.JoinHostPort(host, strconv.Itoa(port)), Root: root,
		User: UserName, Password: DefaultPassword,
		out: &syncBuffer{}, done: make(chan struct{}), implicit: opts.ImplicitTLS,
	}
	if opts.ImplicitTLS && (kind != Vsftpd || opts.CertFile == "") {
		return nil, fmt.Errorf("ImplicitTLS needs vsftpd and a certificate")
	}
	cache := filepath.Join(CacheDir(), "root")
	var args []string
	switch kind {
	case Vsftpd:
		args, err = vsftpdConfig(work, host, port, pasv, root, opts)
	case PureFTPd:
		args, err = pureConfig(cache, work, host, port, pasv, root, uid, gid, opts)
	case ProFTPd:
		args, err = proftpdConfig(work, host, port, pasv, root, opts)
	}
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(cache, binaries[kind]), args...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+libPath(cache))
	cmd.Dir = work
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.SysProcAttr = proc.StartGroup(false)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.cmd = cmd
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	if err := s.waitReady(15 * time.Second); err != nil {
		return nil, fmt.Errorf("%w\nconfig args: %v\nserver output:\n%s", err, args, s.out.String())
	}
	return s, nil
}

// Chown gives every file under Root to the peer user, so the server can
// overwrite and delete files a test created directly on disk.
func (s *Server) Chown() error {
	uid, gid, err := userIDs()
	if err != nil {
		return err
	}
	return filepath.Walk(s.Root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// Output returns what the server printed so far (for failure messages).
func (s *Server) Output() string { return s.out.String() }

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// The server forks one process per session into its process group.
	proc.Terminate(s.cmd.Process.Pid)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		proc.Kill(s.cmd.Process.Pid)
		<-s.done
	}
	// Session children may outlive the master briefly.
	proc.Kill(s.cmd.Process.Pid)
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited early", s.Kind)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
		cancel()
		if err == nil && s.implicit {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true}) // only to see the greeting
		}
		if err == nil {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not greet on %s within %v", s.Kind, s.Addr, limit)
}

func libPath(cache string) string {
	var dirs []string
	for _, pat := range []string{"usr/lib/*-linux-gnu", "lib/*-linux-gnu", "usr/lib"} {
		m, _ := filepath.Glob(filepath.Join(cache, pat))
		dirs = append(dirs, m...)
	}
	if old := os.Getenv("LD_LIBRARY_PATH"); old != "" {
		dirs = append(dirs, old)
	}
	return strings.Join(dirs, ":")
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func lockFile(name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := proc.Lock(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { proc.Unlock(f); f.Close() }, nil
}
