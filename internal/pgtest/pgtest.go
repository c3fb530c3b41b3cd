// Package pgtest starts a throw-away PostgreSQL cluster for tests, from the
// server binaries of the Debian postgresql package (initdb and postgres
// under /usr/lib/postgresql/VERSION/bin, or the directory in $PG_BINDIR).
//
// The cluster lives in a temporary directory, listens on a unix socket in
// that directory and on 127.0.0.1 at a free port, trusts local connections
// (no password) and is stopped and removed when the test ends. When the
// process runs as root, the server runs as the "postgres" system user
// (PostgreSQL refuses to run as root).
//
// Tests skip when the binaries are missing, unless FERRY_REQUIRE_POSTGRES=1
// is set (CI), in which case they fail.
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Cluster is a running PostgreSQL server.
type Cluster struct {
	// Dir holds the data directory and the unix socket.
	Dir string
	// Port is the TCP port on 127.0.0.1 (also the socket's number).
	Port int
	// DSN connects over TCP to the "postgres" database as the superuser
	// "postgres", e.g. postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable.
	DSN string
	// SocketDSN connects over the unix socket in Dir.
	SocketDSN string

	cmd  *exec.Cmd
	done chan struct{}
	dbs  atomic.Int64
}

// BinDir returns the directory holding initdb and postgres: $PG_BINDIR, or
// the newest /usr/lib/postgresql/*/bin that has both.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, checkBins(d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if checkBins(d) == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin; " +
		"install the Debian package postgresql, or set PG_BINDIR")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func checkBins(dir string) error {
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("PostgreSQL binary %s: %w", b, err)
		}
	}
	return nil
}

// Start starts a cluster that is stopped and removed when tb ends. It skips
// tb when PostgreSQL is not installed, unless FERRY_REQUIRE_POSTGRES=1.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := BinDir()
	if err != nil {
		if os.Getenv("FERRY_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("pgtest: %v (FERRY_REQUIRE_POSTGRES=1)", err)
		}
		tb.Skipf("pgtest: %v (set FERRY_REQUIRE_POSTGRES=1 to fail instead)", err)
	}
	c, err := start(bin, tb.Logf)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// creds returns the credentials to run the server with: the postgres
// system user when running as root, else nil (the current user).
func creds() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user (from the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func start(bin string, logf func(string, ...any)) (_ *Cluster, err error) {
	cred, err := creds()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parents are private to root, and the server may
	// run as another user.
	dir, err := os.MkdirTemp("", "ferry-pgtest-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 5 { // the free port may be taken before the server binds it
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c, err := launch(bin, dir, port, cred)
		if err == nil {
			return c, nil
		}
		lastErr = err
		logf("pgtest: %v; retrying on another port", err)
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts postgres on port and waits until it accepts connections.
func launch(bin, dir string, port int, cred *syscall.Credential) (*Cluster, error) {
	var logBuf bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-k", dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=16MB", "-c", "logging_collector=off")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	// Pdeathsig: if the test binary dies, the server does not outlive it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	c := &Cluster{
		Dir:       dir,
		Port:      port,
		DSN:       fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		SocketDSN: fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=%d&sslmode=disable", url.QueryEscape(dir), port),
		cmd:       cmd,
		done:      make(chan struct{}),
	}
	go func() { cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.done:
			return nil, fmt.Errorf("postgres exited: %v\n%s", cmd.ProcessState, logBuf.String())
		default:
		}
		if err := ping(c.DSN); err == nil {
			return c, nil
		} else if time.Now().After(deadline) {
			c.Stop()
			return nil, fmt.Errorf("postgres did not accept connections within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ping(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// NewDatabase creates an empty database with a fresh name and returns a DSN
// for it (over TCP), so tests sharing a cluster do not see each other's
// tables.
func (c *Cluster) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("ferry_test_%d", c.dbs.Add(1))
	db, err := sql.Open("pgx", c.DSN)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and
// removes its directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	select {
	case <-c.done:
	default:
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
	}
	return os.RemoveAll(c.Dir)
}
