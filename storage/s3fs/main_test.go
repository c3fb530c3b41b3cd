package s3fs_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/ferryftp/ferry/internal/s3test"
	"github.com/ferryftp/ferry/storage/s3fs"
)

// server is the S3 server all tests in the package share; each file system
// gets its own prefix in its bucket.
var (
	server    *s3test.Server
	serverErr error
	prefixSeq atomic.Int64
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "s3fs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var stop func()
	server, stop, serverErr = s3test.StartProcess(context.Background(), dir, nil)
	if serverErr != nil && s3test.Required() {
		fmt.Fprintln(os.Stderr, "S3 server required (FERRY_REQUIRE_S3=1) but unavailable:", serverErr)
		os.Exit(1)
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// options returns Options for a fresh, empty root on the shared server, or
// skips the test when there is no server.
func options(t testing.TB) s3fs.Options {
	t.Helper()
	if serverErr != nil {
		t.Skipf("no S3 server (set FERRY_REQUIRE_S3=1 to fail instead): %v", serverErr)
	}
	return s3fs.Options{
		Endpoint:  "http://" + server.Endpoint,
		Bucket:    server.Bucket,
		Prefix:    fmt.Sprintf("t%d", prefixSeq.Add(1)),
		AccessKey: server.AccessKey,
		SecretKey: server.SecretKey,
		PartSize:  s3fs.MinPartSize,
	}
}

func newFS(t testing.TB) *s3fs.FS {
	t.Helper()
	f, err := s3fs.New(t.Context(), options(t))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
