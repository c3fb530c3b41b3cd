package s3fs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
)

// TestCurlEndToEnd serves an s3fs-backed user over FTP and moves 20 MiB up
// and down with curl, resuming both ways: the upload with APPE, the
// download with REST.
func TestCurlEndToEnd(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("FERRY_REQUIRE_INTEROP") == "1" || os.Getenv("FERRY_REQUIRE_S3") == "1" {
			t.Fatal("curl is required")
		}
		t.Skip("curl not installed")
	}
	f, _ := setupFS(t)
	srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(ftpservertest.User{
		Name: "s3user", Password: "s3pass", FS: f, Perms: ftpserver.PermAll,
	})})
	url := "ftp://" + srv.Addr + "/"
	dir := t.TempDir()
	data := randomBytes(20<<20, 8)
	src := filepath.Join(dir, "src.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-sS", "-v", "--connect-timeout", "10", "--max-time", "60", "-u", "s3user:s3pass"}, args...)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(t.Context(), curl, args...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stderr.String()
	}

	run("-T", src, url+"whole.bin")
	out := filepath.Join(dir, "down.bin")
	const have = 7<<20 + 123
	if err := os.WriteFile(out, data[:have], 0o644); err != nil {
		t.Fatal(err)
	}
	log := run("-C", "-", "-o", out, url+"whole.bin")
	if !strings.Contains(log, "REST "+strconv.Itoa(have)) {
		t.Errorf("curl did not resume the download with REST %d", have)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes, not identical to the %d uploaded", len(got), len(data))
	}

	// A broken upload: the first 9 MiB arrive, then curl resumes with APPE.
	first := filepath.Join(dir, "first.bin")
	if err := os.WriteFile(first, data[:9<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	run("-T", first, url+"resumed.bin")
	log = run("-C", "-", "-T", src, url+"resumed.bin")
	if !strings.Contains(log, "APPE resumed.bin") {
		t.Errorf("curl did not resume the upload with APPE")
	}
	out2 := filepath.Join(dir, "down2.bin")
	run("-o", out2, url+"resumed.bin")
	if got, _ := os.ReadFile(out2); !bytes.Equal(got, data) {
		t.Errorf("resumed upload has %d bytes, not identical to the %d sent", len(got), len(data))
	}
}
