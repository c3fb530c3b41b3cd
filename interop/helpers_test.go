package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore"
)

// toolTimeout bounds every run of an external client.
const toolTimeout = 60 * time.Second

// The password user every client logs in as.
const (
	testUser = "alice"
	testPass = "Secr3t-pw"
)

// requireInterop reports whether missing clients must fail the tests.
func requireInterop() bool { return os.Getenv("FERRY_REQUIRE_INTEROP") == "1" }

// missing skips t, or fails it when FERRY_REQUIRE_INTEROP=1, because
// something the test needs is not installed.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if requireInterop() {
		t.Fatalf("%s (FERRY_REQUIRE_INTEROP=1 requires every interop client)", msg)
	}
	t.Skipf("skipping: %s; install it, or set FERRY_REQUIRE_INTEROP=1 to make this a failure", msg)
}

// needTool returns the path of the client binary bin from Debian package
// pkg, or skips (fails under FERRY_REQUIRE_INTEROP=1) when it is missing.
func needTool(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		missing(t, "%s is not installed (Debian package %s)", bin, pkg)
	}
	return p
}

var (
	pythonOnce sync.Once
	pythonPath string
	pythonErr  error
)

// needPython returns the path of a python3 that can import ftplib.
func needPython(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		pythonPath, pythonErr = exec.LookPath("python3")
		if pythonErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, pythonPath, "-c", "import ftplib").CombinedOutput()
		if err != nil {
			pythonErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if pythonErr != nil {
		missing(t, "python3 with ftplib is not usable (Debian package python3): %v", pythonErr)
	}
	return pythonPath
}

var (
	ipv6Once sync.Once
	ipv6OK   bool
)

// needIPv6 skips t when the machine has no IPv6 loopback. That is a
// property of the machine, not a missing client, so it never fails.
func needIPv6(t testing.TB) {
	t.Helper()
	ipv6Once.Do(func() {
		l, err := net.Listen("tcp", "[::1]:0")
		if err == nil {
			l.Close()
			ipv6OK = true
		}
	})
	if !ipv6OK {
		t.Skip("skipping: this machine has no IPv6 loopback (::1)")
	}
}

// family is a loopback address family the tests run over.
type family struct {
	name   string // "IPv4" or "IPv6"
	listen string // listen address for ftpservertest.Start
}

var (
	ipv4 = family{"IPv4", "127.0.0.1:0"}
	ipv6 = family{"IPv6", "[::1]:0"}
)

// need skips t when the family is not available on this machine.
func (f family) need(t testing.TB) {
	t.Helper()
	if f == ipv6 {
		needIPv6(t)
	}
}

var (
	hashMu sync.Mutex
	hashes = map[string]string{}
)

// hashOf returns a password hash of pw, computed once per test binary.
func hashOf(t testing.TB, pw string) string {
	t.Helper()
	hashMu.Lock()
	defer hashMu.Unlock()
	if h, ok := hashes[pw]; ok {
		return h
	}
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatalf("password.Hash: %v", err)
	}
	hashes[pw] = h
	return h
}

// account is a user of a test server.
type account struct {
	name, pass string
	perms      ftpserver.Perms
}

// server is a running ferry server with password users on local disk.
type server struct {
	// Addr is the control address, such as "127.0.0.1:40000" or "[::1]:40000".
	Addr string
	// Host is the bare IP: "127.0.0.1" or "::1".
	Host string
	// Port is the control port.
	Port string
	// Root is the directory the first account sees as "/".
	Root string
	// Roots maps every account name to its root directory.
	Roots map[string]string
	*ftpservertest.Server
}

// startServer starts a server on listen ("127.0.0.1:0" or "[::1]:0") with
// the alice account (all permissions) on a fresh directory.
func startServer(t testing.TB, listen string) *server {
	t.Helper()
	return startServerWith(t, listen, nil, account{testUser, testPass, ftpserver.PermAll})
}

// startServerWith starts a server with accounts, each on its own fresh root
// directory, after tweak (if not nil) has adjusted the options.
func startServerWith(t testing.TB, listen string, tweak func(*ftpserver.Options), accounts ...account) *server {
	t.Helper()
	roots := map[string]string{}
	var users []userstore.User
	for _, a := range accounts {
		root := t.TempDir()
		roots[a.name] = root
		users = append(users, userstore.User{
			Name:         a.name,
			PasswordHash: hashOf(t, a.pass),
			Root:         root,
			Perms:        a.perms,
		})
	}
	store, err := userstore.NewStatic(users, nil, userstore.WithLocalFS(localfs.Options{}))
	if err != nil {
		t.Fatalf("userstore.NewStatic: %v", err)
	}
	// Cleanups run last-in first-out: registered before Start, the store
	// closes after the server has shut down.
	t.Cleanup(func() { store.Close() })
	opts := ftpserver.Options{Auth: store, DataTimeout: 20 * time.Second}
	if tweak != nil {
		tweak(&opts)
	}
	ts := ftpservertest.Start(t, listen, opts)
	host, port, err := net.SplitHostPort(ts.Addr)
	if err != nil {
		t.Fatalf("split %q: %v", ts.Addr, err)
	}
	return &server{Addr: ts.Addr, Host: host, Port: port, Root: roots[accounts[0].name], Roots: roots, Server: ts}
}

// url returns an ftp:// URL for path on s, without credentials. Each path
// segment is percent-encoded, so names with spaces and UTF-8 survive.
func (s *server) url(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return "ftp://" + s.Addr + "/" + strings.Join(segs, "/")
}

// userURL is like url with the test user's credentials in it.
func (s *server) userURL(path string) string {
	return strings.Replace(s.url(path), "ftp://", "ftp://"+testUser+":"+testPass+"@", 1)
}

// result is what an external client did.
type result struct {
	stdout, stderr string
	err            error
}

// runTool runs bin with args, stdin as its standard input, in dir, with a
// private HOME (so no rc or netrc file of the machine interferes), a UTF-8
// locale and toolTimeout. It never fails the test itself.
func runTool(t testing.TB, dir, stdin, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "LC_ALL=C.UTF-8", "LANG=C.UTF-8", "TERM=dumb")
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (killed after %v)", err, time.Since(start).Round(time.Millisecond))
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustRun is runTool that fails the test, showing the client's output,
// when the client exits with an error.
func mustRun(t testing.TB, dir, stdin, bin string, args ...string) result {
	t.Helper()
	r := runTool(t, dir, stdin, bin, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(redact(args), " "), r.err, tail(r.stdout), tail(r.stderr))
	}
	return r
}

// redact hides the test password in logged command lines.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, testPass, "xxx")
	}
	return out
}

// tail keeps the end of a long client output for failure messages.
func tail(s string) string {
	const max = 6000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

// sample is a file the tests transfer.
type sample struct {
	name string
	data []byte
}

// sampleData returns n bytes holding every byte value: the sequence
// 0..255 once, then deterministic pseudo-random bytes.
func sampleData(n int, seed uint64) []byte {
	b := make([]byte, n)
	for i := 0; i < n && i < 256; i++ {
		b[i] = byte(i)
	}
	if n > 256 {
		var key [32]byte
		key[0] = byte(seed)
		key[1] = byte(seed >> 8)
		rand.NewChaCha8(key).Read(b[256:])
	}
	return b
}

// samples are the files every client moves: a binary file of a few MiB
// with every byte value, an empty file, a name with spaces and a UTF-8 name.
var samples = []sample{
	{"binary.bin", sampleData(3<<20+12345, 1)},
	{"empty.dat", nil},
	{"name with spaces.txt", []byte("a file whose name has spaces\r\nand CRLF\nand LF line ends\n")},
	{"ünïcødé ファイル.txt", []byte("UTF-8 name, UTF-8 content: ½ € ファイル\n")},
}

// sampleNames lists the names of samples, sorted.
func sampleNames() []string {
	var names []string
	for _, s := range samples {
		names = append(names, s.name)
	}
	sort.Strings(names)
	return names
}

// writeSamples writes samples into dir.
func writeSamples(t testing.TB, dir string) {
	t.Helper()
	for _, s := range samples {
		writeFile(t, filepath.Join(dir, s.name), s.data)
	}
}

// writeFile writes data to path, creating parent directories.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTree creates a tree of nested directories and files under dir/name
// and returns its path.
func writeTree(t testing.TB, dir, name string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	files := map[string][]byte{
		"top.txt":                        []byte("top level\n"),
		"binary.bin":                     sampleData(1<<20+7, 2),
		"empty.dat":                      nil,
		"sub dir/name with spaces.txt":   []byte("spaces\n"),
		"sub dir/deeper/ünïcødé.txt":     []byte("unicode\n"),
		"a/b/c/leaf.bin":                 sampleData(70000, 3),
		"a/b/sibling.txt":                []byte("sibling\n"),
		"a/second level ファイル/readme.txt": []byte("second level\n"),
	}
	for rel, data := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(rel)), data)
	}
	return root
}

// digest is a file's hex SHA-256.
func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkFile fails t unless the file at path holds exactly want.
func checkFile(t testing.TB, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	if digest(got) != digest(want) {
		t.Errorf("%s: got %d bytes sha256 %.16s…, want %d bytes sha256 %.16s…",
			path, len(got), digest(got), len(want), digest(want))
	}
}

// checkSamples fails t unless dir holds every sample byte for byte.
func checkSamples(t testing.TB, dir string) {
	t.Helper()
	for _, s := range samples {
		checkFile(t, filepath.Join(dir, s.name), s.data)
	}
}

// treeDigests maps every regular file under root, by slash-separated
// relative path, to its SHA-256.
func treeDigests(t testing.TB, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m[filepath.ToSlash(rel)] = digest(b)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return m
}

// checkTree fails t unless got holds the same files as want, byte for byte.
func checkTree(t testing.TB, want, got string) {
	t.Helper()
	w, g := treeDigests(t, want), treeDigests(t, got)
	for rel, d := range w {
		switch gd, ok := g[rel]; {
		case !ok:
			t.Errorf("%s: missing %s", got, rel)
		case gd != d:
			t.Errorf("%s: %s differs from %s", got, rel, want)
		}
	}
	for rel := range g {
		if _, ok := w[rel]; !ok {
			t.Errorf("%s: unexpected file %s", got, rel)
		}
	}
	if len(w) == 0 {
		t.Errorf("%s: empty tree", want)
	}
}

// truncateCopy writes the first n bytes of data to path.
func truncateCopy(t testing.TB, path string, data []byte, n int) {
	t.Helper()
	writeFile(t, path, data[:n])
}

// repoRoot returns the module root (the directory holding go.mod).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// itoa formats n in decimal.
func itoa(n int) string { return strconv.Itoa(n) }

// dialCtrl connects to addr, bounds the whole session to limit, and reads
// the greeting.
func dialCtrl(t testing.TB, addr string, limit time.Duration) *ftpservertest.Client {
	t.Helper()
	c := ftpservertest.Dial(t, addr)
	c.Conn().SetDeadline(time.Now().Add(limit))
	return c
}
