package peers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/proc"
)

// FTPProxy is the SuSE proxy-suite FTP proxy (Debian package ftp-proxy), a
// baseline for ferry's proxy. It is not a server kind: it is not in [Kinds].
// It knows PASV and PORT but not EPSV or EPRT.
const FTPProxy = "ftp-proxy"

func init() {
	packages[FTPProxy] = []string{"ftp-proxy"}
	binaries[FTPProxy] = "usr/sbin/ftp-proxy"
}

// ProxyOptions configures an ftp-proxy instance.
type ProxyOptions struct {
	// PassivePorts is the range of the proxy's listeners for the client's
	// data connections (PassiveMinDataPort/PassiveMaxDataPort, with
	// SockBindRand); default: ports the kernel picks.
	PassivePorts [2]int
}

// Proxy is a running ftp-proxy in front of one server.
type Proxy struct {
	Addr    string // host:port clients connect to (127.0.0.1)
	Backend string // host:port of the server behind it

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// StartFTPProxy starts ftp-proxy on a free loopback port, relaying every
// session to backend (host:port, IPv4), and stops it when the test ends. It
// skips the test (or fails it with FERRY_REQUIRE_PEERS=1) when ftp-proxy
// cannot be obtained.
func StartFTPProxy(t testing.TB, backend string, opts ProxyOptions) *Proxy {
	t.Helper()
	if err := Available(FTPProxy); err != nil {
		if os.Getenv("FERRY_REQUIRE_PEERS") == "1" {
			t.Fatalf("%s required (FERRY_REQUIRE_PEERS=1) but unavailable: %v", FTPProxy, err)
		}
		t.Skipf("%s unavailable: %v", FTPProxy, err)
	}
	p, err := startFTPProxy(t, backend, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StartFTPProxyContext is StartFTPProxy for programs that are not tests: it
// returns an error instead of skipping and registers the shutdown with c.
func StartFTPProxyContext(ctx context.Context, c Cleaner, backend string, opts ProxyOptions) (*Proxy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := Available(FTPProxy); err != nil {
		return nil, err
	}
	return startFTPProxy(cleanerTB{c: c}, backend, opts)
}

// ftpProxyConfig returns the lines of ftp-proxy.conf for a standalone proxy
// on 127.0.0.1:port in front of backend.
func ftpProxyConfig(port int, backendHost string, backendPort int, pasv [2]int, logFile string) []string {
	lines := []string{
		"[-Global-]",
		"ServerType standalone",
		"Listen 127.0.0.1",
		"Port " + strconv.Itoa(port),
		"DestinationAddress " + backendHost,
		"DestinationPort " + strconv.Itoa(backendPort),
		"DestinationTransferMode passive",
		"MaxClients 512",
		"ForkLimit 100000", // connections per minute; default 40
		"TimeOut 300",
		"LogDestination " + logFile,
		"LogLevel WRN",
		"User nobody",
		"Group nogroup",
	}
	if pasv[0] != 0 {
		lines = append(lines, fmt.Sprintf("PassiveMinDataPort %d", pasv[0]), fmt.Sprintf("PassiveMaxDataPort %d", pasv[1]), "SockBindRand yes")
	}
	return lines
}

func startFTPProxy(t testing.TB, backend string, opts ProxyOptions) (*Proxy, error) {
	host, portStr, err := net.SplitHostPort(backend)
	if err != nil {
		return nil, err
	}
	bport, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("ftp-proxy backend %q: %w", backend, err)
	}
	work, err := os.MkdirTemp("", "ferry-peer-ftp-proxy-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	pasv := opts.PassivePorts
	// The proxy (re)creates its log after dropping to user nobody.
	logDir := filepath.Join(work, "log")
	if err := os.Chmod(work, 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(logDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(logDir, 0o777); err != nil {
		return nil, err
	}
	logFile := filepath.Join(logDir, "ftp-proxy.log")
	conf := filepath.Join(work, "ftp-proxy.conf")
	if err := writeLines(conf, ftpProxyConfig(port, host, bport, pasv, logFile)); err != nil {
		return nil, err
	}
	cache := filepath.Join(CacheDir(), "root")
	p := &Proxy{Addr: "127.0.0.1:" + strconv.Itoa(port), Backend: backend, out: &syncBuffer{}, done: make(chan struct{})}
	// -d: standalone daemon; -n: stay in the foreground.
	cmd := exec.Command(filepath.Join(cache, binaries[FTPProxy]), "-d", "-n", "-f", conf)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+libPath(cache))
	cmd.Dir = work
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = proc.StartGroup(false)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd
	go func() { cmd.Wait(); close(p.done) }()
	s := &Server{Kind: FTPProxy, Addr: p.Addr, cmd: cmd, out: p.out, done: p.done}
	t.Cleanup(s.stop)
	if err := s.waitReady(15 * time.Second); err != nil {
		log, _ := os.ReadFile(logFile)
		return nil, fmt.Errorf("%w\noutput:\n%s\nlog:\n%s", err, p.out.String(), log)
	}
	return p, nil
}

// Pid is the process id of the proxy's master process (sessions are forked
// children in its process group).
func (p *Proxy) Pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Output returns what the proxy printed so far.
func (p *Proxy) Output() string { return p.out.String() }
