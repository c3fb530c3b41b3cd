//go:build linux

package ftpserver_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

// smallTmpfs mounts a tmpfs of size bytes on a fresh directory and returns
// it; it is unmounted when the test ends. Mounting needs root: without it
// the test is skipped, unless FERRY_REQUIRE_ROOT=1 (or
// FERRY_REQUIRE_NETNS=1, which CI sets and which needs root as well) makes
// it fail.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("FERRY_REQUIRE_ROOT") == "1" || os.Getenv("FERRY_REQUIRE_NETNS") == "1" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("mounting a small tmpfs needs root (set FERRY_REQUIRE_ROOT=1 to fail instead of skipping)")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size); err != nil {
		fail("mount -t tmpfs -o size=%s %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v (detaching it)", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// TestDiskFullUpload fills a 1 MiB file system with a 2 MiB upload over
// real TCP: the client gets 452, the upload leaves nothing behind (in
// atomic mode the file it would have replaced is unchanged), and the
// server goes on serving.
func TestDiskFullUpload(t *testing.T) {
	const old = "the previous version\n"
	big := bytes.Repeat([]byte("ferry fills the disk. "), 2<<20/22+1)[:2<<20]
	for _, tc := range []struct {
		desc   string
		opts   localfs.Options
		target string // what the big upload is sent to
		keep   string // keep.txt's content afterwards
	}{
		{"in atomic mode, replacing a file", localfs.Options{Atomic: true}, "keep.txt", old},
		{"in atomic mode, a new file", localfs.Options{Atomic: true}, "big.bin", old},
		{"in direct mode, a new file", localfs.Options{}, "big.bin", old},
		// Direct mode truncated the file when the upload began; the
		// discarded upload cuts it back to that point: empty.
		{"in direct mode, replacing a file", localfs.Options{}, "keep.txt", ""},
	} {
		t.Run(tc.desc+": 452, nothing left behind, the server still serves", func(t *testing.T) {
			dir := smallTmpfs(t, "1m")
			if err := os.WriteFile(filepath.Join(dir, "keep.txt"), []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			fsys, err := localfs.New(dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fsys.Close() }) // before the unmount
			srv := ftpservertest.Start(t, "", ftpserver.Options{Auth: ftpservertest.Auth(
				ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})

			c := ftpservertest.Dial(t, srv.Addr)
			c.Login("u", "p")
			c.Do(ftp.CodeOK, "TYPE I")
			d := c.EPSV()
			c.Do(ftp.CodeFileStatusOK, "STOR %s", tc.target)
			wrote := make(chan error, 1)
			go func() {
				_, err := d.Write(big) // fails once the server gives up
				d.Close()
				wrote <- err
			}()
			code, msg := c.Read()
			d.Close()
			<-wrote
			if code != ftp.CodeInsufficientStorage {
				t.Fatalf("reply to a STOR that fills the disk: %d %q, want %d", code, msg, ftp.CodeInsufficientStorage)
			}

			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if len(names) != 1 || names[0] != "keep.txt" {
				t.Errorf("the file system holds %q after the failed upload, want only keep.txt", names)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "keep.txt")); err != nil || string(got) != tc.keep {
				t.Errorf("keep.txt = %d bytes %.40q..., %v; want %q", len(got), got, err, tc.keep)
			}
			var st syscall.Statfs_t
			if err := syscall.Statfs(dir, &st); err == nil && st.Bfree*uint64(st.Bsize) < 512<<10 {
				t.Errorf("only %d bytes free after the failed upload: its data was not given back", st.Bfree*uint64(st.Bsize))
			}

			// The same session, and a new one, still upload and list.
			c.Stor("STOR", "small.txt", "still serving\n")
			c2 := ftpservertest.Dial(t, srv.Addr)
			c2.Login("u", "p")
			c2.Do(ftp.CodeOK, "TYPE I")
			if got := c2.Retr("small.txt"); got != "still serving\n" {
				t.Errorf("small.txt = %q", got)
			}
			if lines := c2.Listing("NLST"); strings.Join(lines, ",") != "keep.txt,small.txt" {
				t.Errorf("NLST = %q, want keep.txt and small.txt", lines)
			}
			c.Do(ftp.CodeClosing, "QUIT")
		})
	}
}
