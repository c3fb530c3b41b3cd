// Package s3test starts a real S3-compatible server for tests: SeaweedFS
// ("weed server -s3"), built from its Go module through the module proxy
// into a cache folder on first use and reused afterwards.
//
// The cache folder is $FERRY_S3_CACHE, by default /var/cache/ferry-s3; the
// build holds a file lock there, so parallel test packages build it once.
// $FERRY_S3_WEED names a ready weed binary to use instead. When the server
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
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// Module and Version are the SeaweedFS module built.
	Module  = "github.com/seaweedfs/seaweedfs"
	Version = "v0.0.0-20261109003541-7506e5f91cd6"
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

// Build returns the path of the weed binary, building it first if the
// cache does not hold it. logf, if not nil, reports progress.
func Build(ctx context.Context, logf func(format string, args ...any)) (string, error) {
	if p := os.Getenv("FERRY_S3_WEED"); p != "" {
		return p, nil
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := CacheDir()
	bin := filepath.Join(dir, "weed-"+Version)
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
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by another process while we waited
	}
	start := time.Now()
	logf("s3test: building %s@%s into %s (once)", Module, Version, dir)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("s3test: no go command: %w", err)
	}
	out, err := run(ctx, "", goCmd, "mod", "download", "-json", Module+"@"+Version)
	if err != nil {
		return "", err
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("s3test: go mod download: %s %v", mod.Error, err)
	}
	src, err := os.MkdirTemp(dir, "src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return "", fmt.Errorf("s3test: copying the module: %w", err)
	}
	tmp := bin + ".tmp"
	if _, err := run(ctx, src, goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, "./weed"); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	logf("s3test: built %s in %v", bin, time.Since(start).Round(time.Second))
	return bin, nil
}

func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
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
	cfg := fmt.Sprintf(`{"identities":[{"name":"ferry","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","List","Tagging","Write"]}]}`,
		s.AccessKey, s.SecretKey)
	cfgPath := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, nil, err
	}
	ports, err := freePorts(8)
	if err != nil {
		return nil, nil, err
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	s.Endpoint = "127.0.0.1:" + p(6)
	args := []string{"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + data,
		"-master.port=" + p(0), "-master.port.grpc=" + p(1),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=64",
		"-volume.port=" + p(2), "-volume.port.grpc=" + p(3), "-volume.max=16",
		"-filer.port=" + p(4), "-filer.port.grpc=" + p(5),
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port=" + p(6), "-s3.port.grpc=" + p(7), "-s3.config=" + cfgPath,
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
	}
	logFile, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logFile.Close()
	}
	if err := s.waitReady(ctx, exited); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
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
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("s3test: weed exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = c.MakeBucket(rctx, s.Bucket, minio.MakeBucketOptions{})
		if last == nil || minio.ToErrorResponse(last).Code == "BucketAlreadyOwnedByYou" {
			// A write proves the volume server has registered.
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
	return fmt.Errorf("s3test: server not ready after 90s: %v", last)
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
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			continue // weed may derive a gRPC port by adding 10000
		}
		ports = append(ports, port)
	}
	return ports, nil
}
