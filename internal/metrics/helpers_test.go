package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/internal/metrics"
	"github.com/ferryftp/ferry/storage/memfs"
)

// needTool returns the path of a tool of the Debian package prometheus; the
// test skips without it, except under CI=true (.ci/run installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: apt-get install prometheus", name)
		}
		t.Skipf("%s not found (apt-get install prometheus); skipping", name)
	}
	return p
}

// ferry is an FTP server with metrics and its admin listener.
type ferry struct {
	srv   *ftpservertest.Server
	admin *metrics.Admin
	fsys  *memfs.FS
}

// startFerry starts a server with user u/p on a memfs holding files, its
// metrics, and an admin listener on 127.0.0.1.
func startFerry(t *testing.T, opts ftpserver.Options, files map[string][]byte) *ferry {
	t.Helper()
	fsys := memfs.New()
	for name, data := range files {
		if err := fsys.WriteFile(name, data); err != nil {
			t.Fatal(err)
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := metrics.NewRegistry()
	m, err := metrics.NewServer(reg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Observer = m.Observer()
	if opts.Auth == nil {
		opts.Auth = ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})
	}
	srv := ftpservertest.Start(t, "", opts)
	if err := m.Watch(srv.Stats); err != nil {
		t.Fatal(err)
	}
	admin, err := metrics.Listen("127.0.0.1:0", metrics.Handler(reg, srv.Ready), opts.Logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return &ferry{srv: srv, admin: admin, fsys: fsys}
}

// get fetches path from the admin listener and returns status and body.
func (f *ferry) get(t *testing.T, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+f.admin.Addr().String()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
