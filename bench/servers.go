package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/internal/peers"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/userstore"
)

// Names of the servers in the table.
const (
	Ferry = "ferry"
)

// target is one server under test: its plain instance (password user), an
// anonymous instance (may be the same address) and a TLS instance.
type target struct {
	name     string
	addr     string
	pid      int // process whose tree is measured (0: in-process)
	anonAddr string
	anonPid  int
	tlsAddr  string
	tlsPid   int
	conf     map[int]string // ferry child pid → spec file, for profiling
	// fresh, when set, starts a new instance for the memory workload
	// (ferry: a garbage-collected process keeps freed heap from earlier
	// workloads, which would hide the cost of new sessions).
	fresh      func(ctx context.Context) (addr string, pid int, stop func(), err error)
	user, pass string
	note       string
}

// cleaner runs registered functions in reverse order.
type cleaner struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleaner) Cleanup(f func()) { c.mu.Lock(); c.fns = append(c.fns, f); c.mu.Unlock() }

func (c *cleaner) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// certFiles writes a self-signed ECDSA P-256 certificate for 127.0.0.1.
func certFiles(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// passive port ranges, one block of 500 per server instance.
var nextPasv = 40000

func pasvRange() [2]int {
	r := [2]int{nextPasv, nextPasv + 499}
	nextPasv += 500
	return r
}

// startPeer starts the plain, anonymous and (vsftpd) TLS instances of a peer.
func startPeer(ctx context.Context, c *cleaner, kind, data, certFile, keyFile string) (*target, error) {
	big := []string(nil)
	switch kind {
	case peers.PureFTPd:
		big = []string{"--maxclientsnumber", "12000", "--maxclientsperip", "12000"}
	case peers.ProFTPd:
		big = []string{"MaxInstances 12000"}
	}
	s, err := peers.StartContext(ctx, c, kind, peers.Options{Root: data, PassivePorts: pasvRange(), Extra: big})
	if err != nil {
		return nil, err
	}
	t := &target{name: kind, addr: s.Addr, pid: s.Pid(), user: s.User, pass: s.Password}
	var anon []string
	switch kind {
	case peers.Vsftpd:
		anon = []string{"anonymous_enable=YES", "anon_root=" + data, "ftp_username=daemon", "no_anon_password=YES"}
	case peers.ProFTPd:
		anon = []string{"<Anonymous " + data + ">", "User " + peers.UserName, "Group " + peers.UserName,
			"UserAlias anonymous " + peers.UserName, "RequireValidShell off", "</Anonymous>"}
	default:
		t.note = "pure-ftpd: no anonymous instance (internal/peers always passes --noanonymous)"
	}
	if anon != nil {
		a, err := peers.StartContext(ctx, c, kind, peers.Options{Root: data, PassivePorts: pasvRange(), Extra: append(big, anon...)})
		if err != nil {
			return nil, fmt.Errorf("anonymous instance: %w", err)
		}
		t.anonAddr, t.anonPid = a.Addr, a.Pid()
	}
	if kind == peers.Vsftpd {
		ts, err := peers.StartContext(ctx, c, kind, peers.Options{Root: data, PassivePorts: pasvRange(), CertFile: certFile, KeyFile: keyFile})
		if err != nil {
			return nil, fmt.Errorf("TLS instance: %w", err)
		}
		t.tlsAddr, t.tlsPid = ts.Addr, ts.Pid()
	}
	return t, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// ferrySpec describes one ferry instance. The harness serves ferry from a
// child process running its own binary in -serve-ferry mode, built from
// ftpserver, userstore and storage/localfs exactly as "ferry serve" wires
// them, with settings equivalent to the peers': one local user (argon2id
// hash from password.Hash), anonymous logins, a passive range, no transfer
// log, no caps on sessions, no failed-login delay, errors-only logging.
type ferrySpec struct {
	Addr              string
	Data              string
	Hash              string
	Pasv              [2]int
	CertFile, KeyFile string
	// NoLoginCache turns off the cache of verified credentials that
	// "ferry serve" enables by default (security.login_cache_ttl).
	NoLoginCache bool
}

// startFerryProcess starts a child process serving spec.
func startFerryProcess(ctx context.Context, c *cleaner, work, name string, spec ferrySpec) (string, int, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", 0, err
	}
	spec.Addr = addr
	b, _ := json.Marshal(spec)
	conf := filepath.Join(work, name+".json")
	if err := os.WriteFile(conf, b, 0o600); err != nil {
		return "", 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", 0, err
	}
	return runChild(ctx, c, work, name, addr, exe, "-serve-ferry", conf)
}

// serveChild is the -serve-ferry mode: serve the spec in the named JSON
// file until SIGTERM or SIGINT.
func serveChild(name string) {
	b, err := os.ReadFile(name)
	if err != nil {
		log.Fatal(err)
	}
	var spec ferrySpec
	if err := json.Unmarshal(b, &spec); err != nil {
		log.Fatal(err)
	}
	// Experiments: FERRY_BENCH_CHILD_GOMAXPROCS sets the child's GOMAXPROCS
	// without touching the harness's own.
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_CHILD_GOMAXPROCS")); err == nil && n > 0 {
		runtime.GOMAXPROCS(n)
	}
	c := &cleaner{}
	if _, err := serveFerry(c, spec); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2)
	var prof *os.File
	for x := range sig {
		switch x {
		case syscall.SIGUSR1: // start a CPU profile into the file named by <spec>.prof
			nb, err := os.ReadFile(name + ".prof")
			if err != nil || prof != nil {
				continue
			}
			if prof, err = os.Create(strings.TrimSpace(string(nb))); err == nil {
				if err := pprof.StartCPUProfile(prof); err != nil {
					prof.Close()
					prof = nil
				}
			}
		case syscall.SIGUSR2:
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
				prof = nil
			}
		default:
			c.run()
			os.Exit(0)
		}
	}
}

// profileStart asks the ferry child pid (started from spec file conf) to
// write a CPU profile to out until profileStop.
func profileStart(conf string, pid int, out string) {
	if os.WriteFile(conf+".prof", []byte(out), 0o644) == nil {
		syscall.Kill(pid, syscall.SIGUSR1)
	}
}

func profileStop(pid int) {
	syscall.Kill(pid, syscall.SIGUSR2)
	time.Sleep(200 * time.Millisecond) // let the child flush the profile
}

func waitGreeting(ctx context.Context, addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("exited early")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(3 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no 220 greeting on %s", addr)
}

// startFerry starts ferry's plain/anonymous instance and its TLS instance,
// as child processes or, when inproc (profiling), in this process.
func startFerry(ctx context.Context, c *cleaner, work, data, certFile, keyFile string, inproc, noCache bool) (*target, error) {
	hash, err := password.Hash(peers.DefaultPassword)
	if err != nil {
		return nil, err
	}
	t := &target{name: Ferry, user: peers.UserName, pass: peers.DefaultPassword}
	plain := ferrySpec{Addr: "127.0.0.1:0", Data: data, Hash: hash, Pasv: pasvRange(), NoLoginCache: noCache}
	secure := ferrySpec{Addr: "127.0.0.1:0", Data: data, Hash: hash, Pasv: pasvRange(), CertFile: certFile, KeyFile: keyFile, NoLoginCache: noCache}
	if inproc {
		if t.addr, err = serveFerry(c, plain); err != nil {
			return nil, err
		}
		if t.tlsAddr, err = serveFerry(c, secure); err != nil {
			return nil, err
		}
		t.anonAddr = t.addr
		t.note = "ferry served in-process (-inprocess): its CPU and memory are not measured"
		return t, nil
	}
	if t.addr, t.pid, err = startFerryProcess(ctx, c, work, "ferry", plain); err != nil {
		return nil, err
	}
	t.anonAddr, t.anonPid = t.addr, t.pid
	if t.tlsAddr, t.tlsPid, err = startFerryProcess(ctx, c, work, "ferry-tls", secure); err != nil {
		return nil, err
	}
	n := 0
	t.fresh = func(ctx context.Context) (string, int, func(), error) {
		n++
		fc := &cleaner{}
		spec := plain
		spec.Pasv = [2]int{plain.Pasv[1] - 9, plain.Pasv[1]} // sessions stay idle
		addr, pid, err := startFerryProcess(ctx, fc, work, fmt.Sprintf("ferry-idle-%d", n), spec)
		return addr, pid, fc.run, err
	}
	t.conf = map[int]string{t.pid: filepath.Join(work, "ferry.json"), t.tlsPid: filepath.Join(work, "ferry-tls.json")}
	return t, nil
}

// serveFerry serves spec from this process and returns the address.
func serveFerry(c *cleaner, spec ferrySpec) (string, error) {
	var sopts []userstore.Option
	if !spec.NoLoginCache {
		sopts = append(sopts, userstore.WithChecker(password.NewCachingChecker(0, password.DefaultCacheTTL, 0)))
	}
	store, err := userstore.NewStatic(
		[]userstore.User{{Name: peers.UserName, PasswordHash: spec.Hash, Root: spec.Data, Perms: ftpserver.PermAll}},
		&userstore.Anonymous{Root: spec.Data}, sopts...)
	if err != nil {
		return "", err
	}
	var auth ftpserver.Authenticator = store
	opts := ftpserver.Options{
		Auth:               auth,
		Logger:             slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		IdleTimeout:        30 * time.Minute,
		LoginTimeout:       5 * time.Minute,
		MaxSessions:        -1,
		MaxSessionsPerIP:   -1,
		LoginFailDelay:     -1,
		MaxLoginFailures:   -1,
		MaxUnknownCommands: -1,
		PassivePortMin:     spec.Pasv[0],
		PassivePortMax:     spec.Pasv[1],
	}
	if spec.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(spec.CertFile, spec.KeyFile)
		if err != nil {
			return "", err
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		opts.TLSMode = ftpserver.TLSRequired
	}
	srv, err := ftpserver.New(opts)
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", spec.Addr)
	if err != nil {
		return "", err
	}
	go srv.Serve(l)
	c.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		store.Close()
	})
	return l.Addr().String(), nil
}

// makeData fills dir with the files the workloads read.
func makeData(dir string, bigSize, midSize int64, smallFiles int) error {
	buf := make([]byte, 1<<20)
	rand.Read(buf)
	write := func(name string, size int64) error {
		if st, err := os.Stat(name); err == nil && st.Size() == size {
			return nil
		}
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		for left := size; left > 0; {
			n := min(left, int64(len(buf)))
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return err
			}
			left -= n
		}
		return f.Close()
	}
	if err := write(filepath.Join(dir, "big.bin"), bigSize); err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "mid.bin"), midSize); err != nil {
		return err
	}
	sd := filepath.Join(dir, "small")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return err
	}
	for i := range smallFiles {
		if err := os.WriteFile(filepath.Join(sd, "f"+strconv.Itoa(i)), buf[i%256*4096:][:4096], 0o644); err != nil {
			return err
		}
	}
	return nil
}
