//go:build linux

package diagnose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/diagnose"
)

// Each fault of docs/diagnose.md, created on purpose in two network
// namespaces joined by a veth pair, and named by ferry diagnose:
//
//	client (192.0.2.2) ---- (192.0.2.1) server      [10.9.0.1 on the server's lo: "behind NAT"]
//
// The addresses exist only inside the namespaces this test creates.
const (
	nsClient = "192.0.2.2"
	nsServer = "192.0.2.1"
	nsNATed  = "10.9.0.1"
)

type lab struct {
	t              *testing.T
	client, server string
	bin, dir       string
}

func netnsUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("FERRY_REQUIRE_NETNS") == "1" {
		t.Fatalf("network namespaces required (FERRY_REQUIRE_NETNS=1): "+format, args...)
	}
	t.Skipf("skipping network-namespace test: "+format, args...)
}

func cmdRun(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *lab) in(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

func (l *lab) must(args ...string) {
	l.t.Helper()
	if out, err := cmdRun(20*time.Second, args...); err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// buildFerry builds the ferry binary into dir.
func buildFerry(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ferry")
	if out, err := cmdRun(5*time.Minute, "go", "build", "-o", bin, "github.com/ferryftp/ferry/cmd/ferry"); err != nil {
		t.Fatalf("go build ./cmd/ferry: %v\n%s", err, out)
	}
	return bin
}

func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		netnsUnavailable(t, "needs root")
	}
	for _, p := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(p); err != nil {
			netnsUnavailable(t, "%s not installed", p)
		}
	}
	var rb [3]byte
	rand.Read(rb[:])
	id := "diagnose" + hex.EncodeToString(rb[:])
	l := &lab{t: t, client: id + "c", server: id + "s", dir: t.TempDir()}
	for _, ns := range []string{l.client, l.server} {
		if out, err := cmdRun(20*time.Second, "ip", "netns", "add", ns); err != nil {
			netnsUnavailable(t, "ip netns add: %v %s", err, out)
		}
		t.Cleanup(func() { cmdRun(20*time.Second, "ip", "netns", "del", ns) })
		l.must(l.in(ns, "ip", "link", "set", "lo", "up")...)
	}
	l.must("ip", "link", "add", "dc0", "netns", l.client, "type", "veth", "peer", "name", "ds0", "netns", l.server)
	l.must(l.in(l.client, "ip", "addr", "add", nsClient+"/24", "dev", "dc0")...)
	l.must(l.in(l.client, "ip", "link", "set", "dc0", "up")...)
	l.must(l.in(l.server, "ip", "addr", "add", nsServer+"/24", "dev", "ds0")...)
	l.must(l.in(l.server, "ip", "link", "set", "ds0", "up")...)
	l.must(l.in(l.server, "ip", "addr", "add", nsNATed+"/32", "dev", "lo")...)
	l.bin = buildFerry(t, l.dir)
	os.WriteFile(filepath.Join(l.dir, "hello.txt"), []byte("hello\n"), 0o644)
	return l
}

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

// serve runs ferry serve in the server namespace until the test ends.
func (l *lab) serve(t *testing.T, args ...string) {
	t.Helper()
	out := &syncBuf{}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.server, l.bin, "serve"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "ferry FTP server listening") {
		select {
		case <-done:
			t.Fatalf("ferry serve %v exited:\n%s", args, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry serve %v not ready:\n%s", args, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nft loads rules into a namespace until the test ends.
func (l *lab) nft(t *testing.T, ns, table, rules string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.nft")
	os.WriteFile(f, []byte(rules), 0o644)
	if out, err := cmdRun(20*time.Second, l.in(ns, "nft", "-f", f)...); err != nil {
		netnsUnavailable(t, "nft -f: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := cmdRun(20*time.Second, l.in(ns, append([]string{"nft", "delete", "table"}, strings.Fields(table)...)...)...); err != nil {
			t.Errorf("nft delete table %s: %v %s", table, err, out)
		}
	})
}

// diagnose runs ferry diagnose --json in the client namespace.
func (l *lab) diagnose(t *testing.T, args ...string) (*diagnose.Report, int) {
	t.Helper()
	a := append([]string{"diagnose", "--json", "--data-timeout", "2s", "--active-timeout", "4s", "--timeout", "10s", "--max-time", "90s"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.client, l.bin}, a...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ferry diagnose: %v\n%s", err, stderr.String())
	}
	var rep diagnose.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("ferry diagnose %v: exit %d, output is not a JSON report: %v\n%s\n%s", args, code, err, stdout.String(), stderr.String())
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("ferry diagnose %v (exit %d):\n%s", args, code, text.String())
	return &rep, code
}

// expect checks a step's status and fault.
func expect(t *testing.T, rep *diagnose.Report, id string, st diagnose.Status, fault string) {
	t.Helper()
	s := rep.Step(id)
	if s == nil {
		t.Errorf("no step %q", id)
		return
	}
	if s.Status != st || s.Fault != fault {
		t.Errorf("step %s: %s/%q, want %s/%q (%s)", id, s.Status, s.Fault, st, fault, s.Summary)
	}
}

func TestNetnsFaults(t *testing.T) {
	l := newLab(t)

	t.Run("a healthy server passes every step", func(t *testing.T) {
		l.serve(t, "--listen", nsServer+":2100", "--passive-ports", "40000-40009", "--write", l.dir)
		rep, code := l.diagnose(t, "--write-test", "ftp://"+nsServer+":2100/")
		if code != 0 || rep.Failures != 0 {
			t.Errorf("exit %d, %d failures; want 0", code, rep.Failures)
		}
		for _, id := range []string{"passive.pasv", "passive.epsv", "active.port", "active.eprt", "list", "write", "clock"} {
			expect(t, rep, id, diagnose.OK, "")
		}
	})

	t.Run("a firewall that drops the passive range is named", func(t *testing.T) {
		l.serve(t, "--listen", nsServer+":2101", "--passive-ports", "40010-40019", l.dir)
		l.nft(t, l.server, "inet dgpasv", `table inet dgpasv {
	chain input { type filter hook input priority 0; policy accept; tcp dport 40010-40019 drop; }
}
`)
		rep, code := l.diagnose(t, "ftp://"+nsServer+":2101/")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		expect(t, rep, "passive.pasv", diagnose.Failed, "passive-blocked")
		expect(t, rep, "passive.epsv", diagnose.Failed, "passive-blocked")
		expect(t, rep, "active.port", diagnose.OK, "")
	})

	t.Run("a client firewall that drops active connections is named", func(t *testing.T) {
		l.serve(t, "--listen", nsServer+":2102", "--passive-ports", "40020-40029", l.dir)
		l.nft(t, l.client, "inet dgact", `table inet dgact {
	chain input { type filter hook input priority 0; policy accept; ct state new drop; }
}
`)
		rep, code := l.diagnose(t, "ftp://"+nsServer+":2102/")
		if code != 0 {
			t.Errorf("exit %d, want 0 (active mode blocked is a warning)", code)
		}
		expect(t, rep, "passive.pasv", diagnose.OK, "")
		expect(t, rep, "active.port", diagnose.Warning, "active-blocked")
		expect(t, rep, "active.eprt", diagnose.Warning, "active-blocked")
		if _, code := l.diagnose(t, "--strict", "ftp://"+nsServer+":2102/"); code != 1 {
			t.Errorf("--strict: exit %d, want 1", code)
		}
	})

	t.Run("a server behind NAT announcing its private address is named", func(t *testing.T) {
		l.serve(t, "--listen", nsNATed+":2103", "--passive-ports", "40030-40039", l.dir)
		l.nft(t, l.server, "ip dgnat", `table ip dgnat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr `+nsServer+` tcp dport { 2103, 40030-40039 } dnat to `+nsNATed+`
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr `+nsNATed+` oifname "ds0" snat to `+nsServer+`
	}
}
`)
		rep, code := l.diagnose(t, "ftp://"+nsServer+":2103/")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		expect(t, rep, "passive.pasv", diagnose.Failed, "nat-private-pasv")
		expect(t, rep, "passive.epsv", diagnose.OK, "")
		expect(t, rep, "active.port", diagnose.OK, "")
		if s := rep.Step("passive.pasv"); s != nil && !strings.Contains(s.Action, "public_addr") {
			t.Errorf("the advice does not name public_addr: %s", s.Action)
		}
	})

	t.Run("a server that requires TLS is named", func(t *testing.T) {
		l.serve(t, "--listen", nsServer+":2104", "--passive-ports", "40040-40049", "--tls", "--user", "u:p", "--no-anonymous", l.dir)
		rep, code := l.diagnose(t, "--no-tls", "ftp://u:p@"+nsServer+":2104/")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		expect(t, rep, "login", diagnose.Failed, "tls-required")
		rep, _ = l.diagnose(t, "ftp://u:p@"+nsServer+":2104/")
		expect(t, rep, "tls.auth", diagnose.OK, "")
		expect(t, rep, "tls.certificate", diagnose.Warning, "cert-untrusted")
		expect(t, rep, "tls.required", diagnose.OK, "")
		expect(t, rep, "passive.pasv", diagnose.OK, "")
		expect(t, rep, "tls.reuse", diagnose.Warning, "tls-reuse-required")
	})

	t.Run("a server that refuses PORT is named", func(t *testing.T) {
		conf := filepath.Join(t.TempDir(), "ferry.toml")
		os.WriteFile(conf, []byte(`listen = "`+nsServer+`:2105"
[security]
disable_active = true
[passive]
port_min = 40050
port_max = 40059
[anonymous]
enabled = true
root = "`+l.dir+`"
`), 0o644)
		l.serve(t, "--config", conf)
		rep, code := l.diagnose(t, "ftp://"+nsServer+":2105/")
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		expect(t, rep, "active.port", diagnose.Warning, "active-refused")
		expect(t, rep, "active.eprt", diagnose.Warning, "active-refused")
		if s := rep.Step("active.port"); s != nil && !strings.Contains(s.Summary, "disabled") {
			t.Errorf("the summary does not quote the server's reply: %s", s.Summary)
		}
	})

	t.Run("a firewall that relies on the ftp conntrack helper is named under TLS", func(t *testing.T) {
		l.serve(t, "--listen", nsServer+":2106", "--passive-ports", "40060-40069", "--tls-optional", l.dir)
		l.nft(t, l.server, "inet dghelper", `table inet dghelper {
	ct helper ftp-std { type "ftp" protocol tcp; }
	chain pre { type filter hook prerouting priority 0; policy accept; tcp dport 2106 ct helper set "ftp-std"; }
	chain input {
		type filter hook input priority 0; policy drop;
		iifname "lo" accept
		ct state established,related accept
		tcp dport 2106 accept
	}
}
`)
		rep, _ := l.diagnose(t, "--no-tls", "ftp://"+nsServer+":2106/")
		if s := rep.Step("passive.pasv"); s == nil || s.Status != diagnose.OK {
			// Without the kernel's ftp helper nothing opens the passive port.
			netnsUnavailable(t, "the ftp conntrack helper does not work in this kernel: %+v", s)
		}
		expect(t, rep, "alg", diagnose.Failed, "alg-tls-blind") // FTPS clients cannot transfer
		rep, code := l.diagnose(t, "ftp://"+nsServer+":2106/")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		expect(t, rep, "passive.pasv", diagnose.Failed, "passive-blocked")
		expect(t, rep, "alg", diagnose.Warning, "alg-tls-blind")
	})
}
