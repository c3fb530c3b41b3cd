//go:build linux

package ftpproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The network-namespace recipes of docs/proxy.md. Three namespaces:
//
//	client (192.0.2.2) --- 192.0.2.1 [proxy] 198.51.100.1 --- (198.51.100.2) server
//
// The proxy namespace does not forward packets and the server has no route
// to the client network, so the client reaches the server only through
// the proxy, as behind a NAT firewall. The addresses are documentation
// ranges and exist only inside the namespaces this test creates.

const (
	nsClientIP = "192.0.2.2"
	nsProxyIn  = "192.0.2.1"
	nsProxyOut = "198.51.100.1"
	nsServerIP = "198.51.100.2"
)

// netnsLab is one set of namespaces and the ferry binary to run in them.
type netnsLab struct {
	t                     *testing.T
	client, proxy, server string // namespace names
	bin                   string
	dir                   string
	data                  []byte
}

func netnsUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("FERRY_REQUIRE_NETNS") == "1" {
		t.Fatalf("network namespaces required (FERRY_REQUIRE_NETNS=1): "+format, args...)
	}
	t.Skipf("skipping network-namespace test: "+format, args...)
}

// cmdRun runs a command with a time limit and returns its combined output.
func cmdRun(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *netnsLab) must(args ...string) string {
	l.t.Helper()
	out, err := cmdRun(args...)
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (l *netnsLab) in(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

func newNetnsLab(t *testing.T) *netnsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		netnsUnavailable(t, "needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		netnsUnavailable(t, "iproute2 (ip) not installed")
	}
	var rb [3]byte
	rand.Read(rb[:])
	id := "fy" + hex.EncodeToString(rb[:])
	l := &netnsLab{t: t, client: id + "c", proxy: id + "p", server: id + "s", dir: t.TempDir()}
	for _, ns := range []string{l.client, l.proxy, l.server} {
		if out, err := cmdRun("ip", "netns", "add", ns); err != nil {
			netnsUnavailable(t, "ip netns add: %v %s", err, out)
		}
		t.Cleanup(func() { cmdRun("ip", "netns", "del", ns) })
		l.must(l.in(ns, "ip", "link", "set", "lo", "up")...)
	}
	l.must("ip", "link", "add", "c0", "netns", l.client, "type", "veth", "peer", "name", "p0", "netns", l.proxy)
	l.must("ip", "link", "add", "p1", "netns", l.proxy, "type", "veth", "peer", "name", "s0", "netns", l.server)
	for _, c := range [][]string{
		{l.client, "c0", nsClientIP + "/24"},
		{l.proxy, "p0", nsProxyIn + "/24"},
		{l.proxy, "p1", nsProxyOut + "/24"},
		{l.server, "s0", nsServerIP + "/24"},
	} {
		l.must(l.in(c[0], "ip", "addr", "add", c[2], "dev", c[1])...)
		l.must(l.in(c[0], "ip", "link", "set", c[1], "up")...)
	}
	l.must(l.in(l.client, "ip", "route", "add", "default", "via", nsProxyIn)...)
	l.must(l.in(l.proxy, "sysctl", "-qw", "net.ipv4.ip_forward=0")...)

	// The real binary, so the recipes run exactly as documented.
	l.bin = filepath.Join(l.dir, "ferry")
	if out, err := cmdRunLong("go", "build", "-o", l.bin, "github.com/ferryftp/ferry/cmd/ferry"); err != nil {
		t.Fatalf("go build ./cmd/ferry: %v\n%s", err, out)
	}
	root := filepath.Join(l.dir, "root")
	os.Mkdir(root, 0o755)
	l.data = make([]byte, 2<<20)
	rand.Read(l.data)
	os.WriteFile(filepath.Join(root, "f.bin"), l.data, 0o644)
	l.start(l.server, "ferry FTP server listening", l.bin, "serve", "--listen", nsServerIP+":21", "--user", "u:p", "--no-anonymous", root)
	return l
}

func cmdRunLong(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	return string(out), err
}

// syncBuf is a goroutine-safe buffer for a child's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a long-lived process in a namespace until the test ends and
// waits for ready to appear in its output.
func (l *netnsLab) start(ns, ready string, args ...string) *syncBuf {
	l.t.Helper()
	out := &syncBuf{}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	l.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if l.t.Failed() {
			l.t.Logf("%s output:\n%s", args[1], out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), ready) {
		select {
		case <-done:
			l.t.Fatalf("%s exited:\n%s", strings.Join(args, " "), out)
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s not ready:\n%s", strings.Join(args, " "), out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

// curl downloads url in the client namespace and checks the data.
func (l *netnsLab) curl(url string, extra ...string) {
	l.t.Helper()
	dst := filepath.Join(l.dir, "got")
	os.Remove(dst)
	args := append([]string{"curl", "-sS", "--max-time", "15", "-o", dst}, extra...)
	l.must(l.in(l.client, append(args, url)...)...)
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, l.data) {
		l.t.Errorf("curl %v %s: got %d bytes, want %d", extra, url, len(got), len(l.data))
	}
}

func TestNetns(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		netnsUnavailable(t, "curl not installed")
	}
	l := newNetnsLab(t)

	t.Run("the client cannot reach the server directly", func(t *testing.T) {
		if out, err := cmdRun(l.in(l.client, "curl", "-sS", "--connect-timeout", "2", "--max-time", "4", "ftp://u:p@"+nsServerIP+"/")...); err == nil {
			t.Fatalf("direct connection worked:\n%s", out)
		}
	})

	t.Run("reverse proxy in front of a server serves passive and active clients", func(t *testing.T) {
		logs := l.start(l.proxy, "proxy listening", l.bin, "proxy", "--listen", nsProxyIn+":21", "--backend", nsServerIP+":21")
		l.curl("ftp://u:p@" + nsProxyIn + "/f.bin")
		l.curl("ftp://u:p@"+nsProxyIn+"/f.bin", "--disable-epsv")
		l.curl("ftp://u:p@"+nsProxyIn+"/f.bin", "-P", nsClientIP)
		waitText(t, logs, "client_mode=active server_mode=active")
	})

	t.Run("gateway for clients behind NAT logs in as user@host", func(t *testing.T) {
		logs := l.start(l.proxy, "proxy listening", l.bin, "proxy", "--listen", nsProxyIn+":2121", "--mode", "explicit", "--allow-dest", "198.51.100.*:21")
		l.curl("ftp://u%40" + nsServerIP + ":p@" + nsProxyIn + ":2121/f.bin")
		l.curl("ftp://u%40"+nsServerIP+":p@"+nsProxyIn+":2121/f.bin", "-P", nsClientIP)
		waitText(t, logs, "server="+nsServerIP+":21")
	})

	t.Run("transparent proxy with an nftables redirect intercepts FTP to any server", func(t *testing.T) {
		if _, err := exec.LookPath("nft"); err != nil {
			netnsUnavailable(t, "nft (nftables) not installed")
		}
		rules := `table ip ferry {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "p0" tcp dport 21 redirect to :2122
		iifname "p0" ip daddr != ` + nsProxyIn + ` tcp dport 50000-50099 redirect
	}
}
`
		f := filepath.Join(l.dir, "ferry.nft")
		os.WriteFile(f, []byte(rules), 0o644)
		if out, err := cmdRun(l.in(l.proxy, "nft", "-f", f)...); err != nil {
			netnsUnavailable(t, "nft -f: %v %s", err, out)
		}
		l.must(l.in(l.client, "ip", "route", "replace", "198.51.100.0/24", "via", nsProxyIn)...)
		logs := l.start(l.proxy, "proxy listening", l.bin, "proxy", "--listen", ":2122", "--mode", "transparent", "--data-ports", "50000-50099")
		l.curl("ftp://u:p@" + nsServerIP + "/f.bin")
		l.curl("ftp://u:p@"+nsServerIP+"/f.bin", "--disable-epsv")
		l.curl("ftp://u:p@"+nsServerIP+"/f.bin", "-P", nsClientIP)
		waitText(t, logs, "proxy="+nsProxyIn+":2122 server="+nsServerIP+":21")
	})
}

func waitText(t *testing.T, b *syncBuf, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", s, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
