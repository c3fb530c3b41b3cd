//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The generated rules, loaded for real. Two network namespaces joined by a
// veth pair:
//
//	client (10.77.0.2) --- (10.77.0.1) server: ferry serve behind the rules
//
// The addresses exist only inside the namespaces the test creates. The
// server namespace's input and output chains have policy drop, so only
// what the generated rules allow gets through.

const (
	fwClientIP = "10.77.0.2"
	fwServerIP = "10.77.0.1"
)

// fwLab is one pair of namespaces with the ferry binary.
type fwLab struct {
	t              *testing.T
	client, server string
	bin, dir       string
	data           []byte
}

func fwNetnsUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("FERRY_REQUIRE_NETNS") == "1" {
		t.Fatalf("network namespaces required (FERRY_REQUIRE_NETNS=1): "+format, args...)
	}
	t.Skipf("skipping network-namespace test: "+format, args...)
}

// fwRun runs a command with a time limit and returns its combined output.
func fwRun(limit time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *fwLab) must(args ...string) string {
	l.t.Helper()
	out, err := fwRun(30*time.Second, args...)
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (l *fwLab) in(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

func newFwLab(t *testing.T, bin string, data []byte) *fwLab {
	t.Helper()
	var rb [3]byte
	rand.Read(rb[:])
	id := "firewall" + hex.EncodeToString(rb[:])
	l := &fwLab{t: t, client: id + "c", server: id + "s", bin: bin, dir: t.TempDir(), data: data}
	for _, ns := range []string{l.client, l.server} {
		if out, err := fwRun(10*time.Second, "ip", "netns", "add", ns); err != nil {
			fwNetnsUnavailable(t, "ip netns add: %v %s", err, out)
		}
		t.Cleanup(func() { fwRun(10*time.Second, "ip", "netns", "del", ns) })
		l.must(l.in(ns, "ip", "link", "set", "lo", "up")...)
	}
	// Interface names are per namespace, so short fixed names are fine.
	l.must("ip", "link", "add", "fwc0", "netns", l.client, "type", "veth", "peer", "name", "fws0", "netns", l.server)
	l.must(l.in(l.client, "ip", "addr", "add", fwClientIP+"/24", "dev", "fwc0")...)
	l.must(l.in(l.server, "ip", "addr", "add", fwServerIP+"/24", "dev", "fws0")...)
	l.must(l.in(l.client, "ip", "link", "set", "fwc0", "up")...)
	l.must(l.in(l.server, "ip", "link", "set", "fws0", "up")...)
	root := filepath.Join(l.dir, "root")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644)
	return l
}

// rules runs ferry firewall and returns its standard output, failing the
// test on any warning: the labs' settings must give tight rules.
func (l *fwLab) rules(args ...string) string {
	l.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(l.bin, append([]string{"firewall"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		l.t.Fatalf("ferry firewall %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// config writes a ferry serve configuration for the lab's server.
func (l *fwLab) config(name, extra string) string {
	p := filepath.Join(l.dir, name)
	body := fmt.Sprintf("listen = %q\nlog_level = \"debug\"\n%s\n[anonymous]\nenabled = true\nroot = %q\n",
		fwServerIP+":21", extra, filepath.Join(l.dir, "root"))
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// serve runs ferry serve in the server namespace until stop is called.
func (l *fwLab) serve(args ...string) (stop func()) {
	l.t.Helper()
	return l.start(l.server, "ferry FTP server listening", append([]string{"serve"}, args...)...)
}

// start runs ferry in namespace ns until stop is called, once ready
// appears in its output.
func (l *fwLab) start(ns, ready string, args ...string) (stop func()) {
	l.t.Helper()
	out := &lockedBuffer{}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, l.bin}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if l.t.Failed() {
			l.t.Logf("ferry %v output:\n%s", args, out)
		}
	}
	l.t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), ready) {
		select {
		case <-done:
			l.t.Fatalf("ferry %v exited:\n%s", args, out)
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("ferry %v not ready:\n%s", args, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stop
}

// transfer is one way of downloading f.bin from the client namespace.
type transfer struct {
	name string
	args func(url, dst string) []string
}

var fwTransfers = []transfer{
	{"curl passive (EPSV)", func(u, d string) []string { return []string{"curl", "-sS", "--connect-timeout", "5", "-o", d, u} }},
	{"curl passive (PASV)", func(u, d string) []string {
		return []string{"curl", "-sS", "--connect-timeout", "5", "--disable-epsv", "-o", d, u}
	}},
	{"curl active (EPRT)", func(u, d string) []string {
		return []string{"curl", "-sS", "--connect-timeout", "5", "-P", fwClientIP, "-o", d, u}
	}},
	{"curl active (PORT)", func(u, d string) []string {
		return []string{"curl", "-sS", "--connect-timeout", "5", "-P", fwClientIP, "--disable-eprt", "-o", d, u}
	}},
	{"lftp passive", func(u, d string) []string { return lftpGet(true, u, d) }},
	{"lftp active", func(u, d string) []string { return lftpGet(false, u, d) }},
}

func lftpGet(passive bool, u, dst string) []string {
	mode := "off"
	if passive {
		mode = "on"
	}
	return []string{"lftp", "-c", fmt.Sprintf("set net:max-retries 1; set net:timeout 6; set ftp:ssl-allow no; "+
		"set ftp:passive-mode %s; set ftp:prefer-epsv no; set xfer:clobber on; open -u anonymous,x %s; get /f.bin -o %s", mode, u, dst)}
}

// get runs tr in the client namespace and reports whether f.bin arrived intact.
func (l *fwLab) get(tr transfer, url string, limit time.Duration) (bool, string) {
	dst := filepath.Join(l.dir, "got")
	os.Remove(dst)
	out, err := fwRun(limit, l.in(l.client, tr.args(url, dst)...)...)
	got, _ := os.ReadFile(dst)
	return err == nil && bytes.Equal(got, l.data), fmt.Sprintf("%v: %s", err, out)
}

// fwDialect is how a generated format is loaded and shown.
type fwDialect struct {
	format string
	tool   string
	load   func(l *fwLab, file string) []string
	show   []string
	// dropped: what the loaded ruleset must say about its policies.
	dropped []string
}

var fwDialects = []fwDialect{
	{format: "nft", tool: "nft",
		load:    func(l *fwLab, f string) []string { return l.in(l.server, "nft", "-f", f) },
		show:    []string{"nft", "list", "ruleset"},
		dropped: []string{"hook input priority filter; policy drop;", "hook output priority filter; policy drop;"}},
	{format: "nft-helper", tool: "nft",
		load:    func(l *fwLab, f string) []string { return l.in(l.server, "nft", "-f", f) },
		show:    []string{"nft", "list", "ruleset"},
		dropped: []string{"hook input priority filter; policy drop;", "hook output priority filter; policy drop;", `ct helper set "ftp-standard"`}},
	{format: "iptables", tool: "iptables-restore",
		load:    func(l *fwLab, f string) []string { return l.in(l.server, "iptables-restore", f) },
		show:    []string{"iptables", "-S"},
		dropped: []string{"-P INPUT DROP", "-P OUTPUT DROP"}},
}

func TestFirewallRulesInNetworkNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		fwNetnsUnavailable(t, "needs root")
	}
	for _, tool := range []string{"ip", "nft", "iptables-restore", "curl", "lftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			fwNetnsUnavailable(t, "%s not installed", tool)
		}
	}
	bin := buildFerry(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	url := "ftp://" + fwServerIP + "/f.bin"
	ftpURL := "ftp://" + fwServerIP

	for _, d := range fwDialects {
		t.Run(d.format, func(t *testing.T) {
			l := newFwLab(t, bin, data)
			good := l.config("good.toml", "[passive]\nport_min = 30000\nport_max = 30009\n")
			// Outside the range the rules were written for, and active data
			// from a port the rules do not name.
			bad := l.config("bad.toml", "[passive]\nport_min = 40000\nport_max = 40009\n[active]\nport = 2000\n")

			rules := l.rules("--config", good, "--format", d.format)
			file := filepath.Join(l.dir, "rules."+d.format)
			os.WriteFile(file, []byte(rules), 0o644)

			t.Run("without rules the misconfigured server works in every mode", func(t *testing.T) {
				stop := l.serve("--config", bad)
				defer stop()
				for _, tr := range fwTransfers {
					u := url
					if strings.HasPrefix(tr.name, "lftp") {
						u = ftpURL
					}
					if ok, msg := l.get(tr, u, 30*time.Second); !ok {
						t.Errorf("%s: %s", tr.name, msg)
					}
				}
			})

			if out, err := fwRun(30*time.Second, d.load(l, file)...); err != nil {
				t.Fatalf("loading the %s rules: %v\n%s\n%s", d.format, err, out, rules)
			}
			shown := l.must(l.in(l.server, d.show...)...)
			for _, s := range d.dropped {
				if !strings.Contains(shown, s) {
					t.Fatalf("loaded ruleset lacks %q:\n%s", s, shown)
				}
			}

			t.Run("passive and active transfers pass the rules", func(t *testing.T) {
				stop := l.serve("--config", good)
				defer stop()
				for _, tr := range fwTransfers {
					u := url
					if strings.HasPrefix(tr.name, "lftp") {
						u = ftpURL
					}
					if ok, msg := l.get(tr, u, 45*time.Second); !ok {
						t.Errorf("%s: %s\nrules:\n%s", tr.name, msg, rules)
					}
				}
			})

			if d.format == "nft-helper" {
				// The helper admits whatever data port the control
				// connection announces, so the range does not matter; what
				// must stay closed is every port that is not FTP.
				t.Run("a control port the rules do not name is blocked", func(t *testing.T) {
					stop := l.serve("--listen", fwServerIP+":2121", filepath.Join(l.dir, "root"))
					defer stop()
					if ok, msg := l.get(fwTransfers[0], "ftp://"+fwServerIP+":2121/f.bin", 15*time.Second); ok {
						t.Errorf("a download from port 2121 passed the rules: %s", msg)
					}
				})
				t.Run("the helper admits passive ports outside any range", func(t *testing.T) {
					stop := l.serve("--config", bad)
					defer stop()
					if ok, msg := l.get(fwTransfers[0], url, 45*time.Second); !ok {
						t.Errorf("%s", msg)
					}
				})
				return
			}

			t.Run("a passive port outside the range and active data from another port are blocked", func(t *testing.T) {
				stop := l.serve("--config", bad)
				defer stop()
				for _, tr := range fwTransfers {
					u := url
					if strings.HasPrefix(tr.name, "lftp") {
						u = ftpURL
					}
					if ok, msg := l.get(tr, u, 10*time.Second); ok {
						t.Errorf("%s passed the rules although the server uses ports they do not allow: %s", tr.name, msg)
					}
				}
			})
		})
	}
}

// The proxy's rules, loaded for real. Three namespaces:
//
//	client (10.78.0.2) --- (10.78.0.1) proxy (10.79.0.1) --- (10.79.0.2) server
//
// The proxy namespace does not forward, so the client reaches the server
// only through ferry proxy, whose namespace has the generated nftables
// rules with policy drop on input and output.
func TestFirewallProxyRulesInNetworkNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		fwNetnsUnavailable(t, "needs root")
	}
	for _, tool := range []string{"ip", "nft", "curl", "lftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			fwNetnsUnavailable(t, "%s not installed", tool)
		}
	}
	const clientIP, proxyIn, proxyOut, serverIP = "10.78.0.2", "10.78.0.1", "10.79.0.1", "10.79.0.2"
	data := make([]byte, 1<<20)
	rand.Read(data)
	l := newFwLab(t, buildFerry(t), data) // client and server; re-addressed below
	var rb [3]byte
	rand.Read(rb[:])
	proxy := "firewall" + hex.EncodeToString(rb[:]) + "p"
	if out, err := fwRun(10*time.Second, "ip", "netns", "add", proxy); err != nil {
		fwNetnsUnavailable(t, "ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { fwRun(10*time.Second, "ip", "netns", "del", proxy) })
	// Replace the direct link by client - proxy - server.
	l.must(l.in(l.client, "ip", "link", "del", "fwc0")...)
	l.must("ip", "link", "add", "fwc0", "netns", l.client, "type", "veth", "peer", "name", "fwp0", "netns", proxy)
	l.must("ip", "link", "add", "fwp1", "netns", proxy, "type", "veth", "peer", "name", "fws0", "netns", l.server)
	for _, c := range [][]string{
		{l.client, "fwc0", clientIP + "/24"}, {proxy, "fwp0", proxyIn + "/24"},
		{proxy, "fwp1", proxyOut + "/24"}, {l.server, "fws0", serverIP + "/24"},
	} {
		l.must(l.in(c[0], "ip", "addr", "add", c[2], "dev", c[1])...)
		l.must(l.in(c[0], "ip", "link", "set", c[1], "up")...)
	}
	l.must(l.in(proxy, "ip", "link", "set", "lo", "up")...)
	l.must(l.in(proxy, "sysctl", "-qw", "net.ipv4.ip_forward=0")...)

	root := filepath.Join(l.dir, "root")
	stopServer := l.start(l.server, "ferry FTP server listening", "serve", "--listen", serverIP+":21", root)
	defer stopServer()
	proxyConfig := func(name, dataPorts string, activeSource int) string {
		p := filepath.Join(l.dir, name)
		body := fmt.Sprintf("listen = [%q]\nbackend = %q\ndata_ports = %q\nactive_source_port = %d\n",
			proxyIn+":21", serverIP+":21", dataPorts, activeSource)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	good := proxyConfig("good.toml", "50000-50009", 20)
	bad := proxyConfig("bad.toml", "40000-40009", 2000)
	rules := l.rules("--proxy", "--config", good, "--format", "nft")
	file := filepath.Join(l.dir, "proxy.nft")
	os.WriteFile(file, []byte(rules), 0o644)

	// The transfers, with the client's active address on its own network.
	transfers := make([]transfer, len(fwTransfers))
	copy(transfers, fwTransfers)
	for i, tr := range transfers {
		if strings.HasPrefix(tr.name, "curl active") {
			args := tr.args
			transfers[i].args = func(u, d string) []string {
				a := args(u, d)
				for j := range a {
					if a[j] == fwClientIP {
						a[j] = clientIP
					}
				}
				return a
			}
		}
	}
	getAll := func(t *testing.T, want bool, limit time.Duration) {
		for _, tr := range transfers {
			u := "ftp://" + proxyIn + "/f.bin"
			if strings.HasPrefix(tr.name, "lftp") {
				u = "ftp://" + proxyIn
			}
			ok, msg := l.get(tr, u, limit)
			if ok != want {
				t.Errorf("%s: transfer succeeded = %v, want %v: %s", tr.name, ok, want, msg)
			}
		}
	}

	t.Run("without rules the misconfigured proxy works in every mode", func(t *testing.T) {
		stop := l.start(proxy, "proxy listening", "proxy", "--config", bad)
		defer stop()
		getAll(t, true, 30*time.Second)
	})
	if out, err := fwRun(30*time.Second, l.in(proxy, "nft", "-f", file)...); err != nil {
		t.Fatalf("nft -f: %v\n%s\n%s", err, out, rules)
	}
	if shown := l.must(l.in(proxy, "nft", "list", "ruleset")...); !strings.Contains(shown, "hook input priority filter; policy drop;") ||
		!strings.Contains(shown, "hook output priority filter; policy drop;") {
		t.Fatalf("loaded ruleset has no drop policies:\n%s", shown)
	}
	t.Run("passive and active transfers through the proxy pass the rules", func(t *testing.T) {
		stop := l.start(proxy, "proxy listening", "proxy", "--config", good)
		defer stop()
		getAll(t, true, 45*time.Second)
	})
	t.Run("data ports outside the range and active data from another port are blocked", func(t *testing.T) {
		stop := l.start(proxy, "proxy listening", "proxy", "--config", bad)
		defer stop()
		getAll(t, false, 10*time.Second)
	})
}
