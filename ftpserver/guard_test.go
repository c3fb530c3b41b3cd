package ftpserver_test

import (
	"context"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
)

// embedded is the wrapper people write by hand: it embeds storage.FS and
// so hides every optional interface of what it wraps.
type embedded struct{ storage.FS }

// refuseExe is a Guard check that refuses names ending in ".exe".
func refuseExe(_ context.Context, _ storage.Op, name string) error {
	if strings.HasSuffix(name, ".exe") {
		return &fs.PathError{Op: "guard", Path: name, Err: fs.ErrPermission}
	}
	return nil
}

func guardedServer(t *testing.T, wrap func(storage.FS) storage.FS) (*ftpservertest.Server, string) {
	t.Helper()
	root := t.TempDir()
	fsys, err := localfs.New(root, localfs.Options{Atomic: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "f.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: wrap(fsys), Perms: ftpserver.PermAll})
	return ftpservertest.Start(t, "", ftpserver.Options{Auth: auth}), root
}

func TestGuardKeepsTheOptionalInterfaces(t *testing.T) {
	t.Run("a Guard keeps MFMT, SITE CHMOD and upload resume, and refuses what its check refuses", func(t *testing.T) {
		srv, root := guardedServer(t, func(f storage.FS) storage.FS { return storage.Guard(f, refuseExe) })
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeFileStatus, "MFMT 20200102030405 f.txt")
		if fi, err := os.Stat(filepath.Join(root, "f.txt")); err != nil || !fi.ModTime().Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("MFMT did not set the time: %v %v", fi.ModTime(), err)
		}
		c.Do(ftp.CodeOK, "SITE CHMOD 600 f.txt")
		if fi, _ := os.Stat(filepath.Join(root, "f.txt")); fi.Mode().Perm() != 0o600 {
			t.Errorf("SITE CHMOD did not apply: %v", fi.Mode())
		}

		// An interrupted atomic upload is kept (Aborter) and resumed.
		d := c.EPSV()
		c.Do(ftp.CodeFileStatusOK, "STOR big.bin")
		io.WriteString(d, "first half|")
		d.(*net.TCPConn).SetLinger(0)
		d.Close()
		c.Expect(ftp.CodeTransferAborted)
		d = c.EPSV()
		c.Do(ftp.CodePending, "REST %d", len("first half|"))
		c.Do(ftp.CodeFileStatusOK, "STOR big.bin")
		io.WriteString(d, "second half")
		d.Close()
		c.Expect(ftp.CodeClosingData)
		if b, _ := os.ReadFile(filepath.Join(root, "big.bin")); string(b) != "first half|second half" {
			t.Errorf("the resumed upload holds %q", b)
		}

		c.Do(ftp.CodeFileUnavailable, "STOR tool.exe")
		c.Do(ftp.CodePending, "RNFR f.txt")
		c.Do(ftp.CodeFileUnavailable, "RNTO f.exe")
		if _, err := os.Stat(filepath.Join(root, "tool.exe")); err == nil {
			t.Error("the refused name was created")
		}
	})
	t.Run("a hand-written embedding wrapper loses them (what Guard is for)", func(t *testing.T) {
		srv, _ := guardedServer(t, func(f storage.FS) storage.FS { return embedded{f} })
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeNotImplemented, "MFMT 20200102030405 f.txt")
		c.Do(ftp.CodeNotImplemented, "SITE CHMOD 600 f.txt")
	})
	t.Run("a Guard over a backend without them answers as that backend does", func(t *testing.T) {
		srv, _ := guardedServer(t, func(f storage.FS) storage.FS { return storage.Guard(embedded{f}, refuseExe) })
		c := ftpservertest.Dial(t, srv.Addr)
		c.Login("u", "p")
		c.Do(ftp.CodeNotImplemented, "MFMT 20200102030405 f.txt")
		c.Do(ftp.CodeNotImplemented, "SITE CHMOD 600 f.txt")
		c.Stor("STOR", "new.txt", "uploads work without the pre-check")
		c.Do(ftp.CodeFileUnavailable, "STOR tool.exe")
	})
}
