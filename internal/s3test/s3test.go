// Package s3test starts a real S3-compatible server for tests: versitygw
// with its posix backend on a temporary folder, built from its Go module
// through the module proxy into a cache folder on first use and reused
// afterwards.
//
// The cache folder is $FERRY_S3_CACHE, by default /var/cache/ferry-s3; the
// build holds a file lock there, so parallel test packages build it once.
// $FERRY_S3_BIN names a ready versitygw binary to use instead. When the server
// cannot be built or started, Start skips the test, unless
// FERRY_REQUIRE_S3=1, when it fails it.
//
// To build ahead of the tests (a CI warm-up step):
//
//	go run ./internal/s3test/s3build
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/proc"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// Package and Version are the versitygw command built.
	Package = "github.com/versity/versitygw/cmd/versitygw"
	Version = "v1.8.0"
)

// Server is a running S3 server with one empty bucket.
type Server struct {
	Endpoint  string // "127.0.0.1:port", plain http
	AccessKey string
	SecretKey string
	Bucket    string
	Dir       string // the server's data folder
}

// CacheDir is the folder holding the built binary.
func CacheDir() string {
	if d := os.Getenv("FERRY_S3_CACHE"); d != "" {
		return d
	}
	return "/var/cache/ferry-s3"
}

// Required reports whether FERRY_REQUIRE_S3=1 asks tests to fail rather
// than skip when no S3 server can be had.
func Required() bool { return os.Getenv("FERRY_REQUIRE_S3") == "1" }

// Build returns the path of the versitygw binary, building it first if
// the cache does not hold it. logf, if not nil, reports progress.
func Build(ctx context.Context, logf func(format string, args ...any)) (string, error) {
	if p := os.Getenv("FERRY_S3_BIN"); p != "" {
		return p, nil
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := CacheDir()
	bin := filepath.Join(dir, "versitygw-"+Version)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "build.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return "", err
	}
	defer proc.Unlock(lock)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another process while we waited
	}
	start := time.Now()
	logf("s3test: building %s@%s into %s (once)", Package, Version, dir)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("s3test: no go command: %w", err)
	}
	gobin, err := os.MkdirTemp(dir, "gobin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	if _, err := run(ctx, dir, []string{"GOBIN=" + gobin}, goCmd, "install", "-trimpath", "-ldflags=-s -w", Package+"@"+Version); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(gobin, "versitygw"), bin); err != nil {
		return "", err
	}
	logf("s3test: built %s in %v", bin, time.Since(start).Round(time.Second))
	return bin, nil
}

func flock(ctx context.Context, f *os.File) error {
	for {
		err := proc.TryLock(f)
		if err == nil {
			return nil
		}
		if !errors.Is(err, proc.ErrLocked) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		if len(msg) > 4000 {
			msg = "..." + msg[len(msg)-4000:]
		}
		return nil, fmt.Errorf("s3test: %s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, msg)
	}
	return out, nil
}

// Start builds (if needed) and starts an S3 server on 127.0.0.1 with a
// data folder under t.TempDir() and an empty bucket, and stops it when the
// test ends. It skips the test when the server cannot be had, unless
// Required().
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := start(t.Context(), t.TempDir(), t.Logf)
	if err != nil {
		if Required() {
			t.Fatalf("S3 server required (FERRY_REQUIRE_S3=1) but unavailable: %v", err)
		}
		t.Skipf("no S3 server (set FERRY_REQUIRE_S3=1 to fail instead): %v", err)
	}
	t.Cleanup(stop)
	return s
}

// StartProcess is Start for code without a testing.TB: it returns the
// server and a function that stops it and removes dir's contents it made.
func StartProcess(ctx context.Context, dir string, logf func(string, ...any)) (*Server, func(), error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return start(ctx, dir, logf)
}

func start(ctx context.Context, dir string, logf func(string, ...any)) (*Server, func(), error) {
	buildCtx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	bin, err := Build(buildCtx, logf)
	if err != nil {
		return nil, nil, err
	}
	s := &Server{
		AccessKey: "ferrytest",
		SecretKey: "ferrytest-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Bucket:    "ferry",
		Dir:       dir,
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, nil, err
	}
	s.Endpoint = "127.0.0.1:" + strconv.Itoa(ports[0])
	args := []string{"--port", s.Endpoint, "--quiet", "posix", data}
	logFile, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// The root credentials go through the environment, not the command line.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = proc.StartGroup(true)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		proc.Terminate(cmd.Process.Pid)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			proc.Kill(cmd.Process.Pid)
			<-exited
		}
		logFile.Close()
	}
	if err := s.waitReady(ctx, exited); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(dir, "versitygw.log"))
		if len(log) > 3000 {
			log = log[len(log)-3000:]
		}
		return nil, nil, fmt.Errorf("%v; server log tail:\n%s", err, log)
	}
	return s, stop, nil
}

// waitReady creates the bucket, retrying until the server answers.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("s3test: versitygw exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = c.MakeBucket(rctx, s.Bucket, minio.MakeBucketOptions{})
		if last == nil || minio.ToErrorResponse(last).Code == "BucketAlreadyOwnedByYou" {
			// A write proves the backend is ready.
			_, last = c.PutObject(rctx, s.Bucket, ".ready", strings.NewReader("ok"), 2, minio.PutObjectOptions{})
			if last == nil {
				last = c.RemoveObject(rctx, s.Bucket, ".ready", minio.RemoveObjectOptions{})
			}
		}
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("s3test: server not ready after 30s: %v", last)
}

// Client returns a minio client for the server, for test setup and checks.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		MaxRetries: 1,
	})
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
