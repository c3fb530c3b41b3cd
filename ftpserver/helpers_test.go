package ftpserver_test

import (
	"net"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

// newMemServer starts a server with one read-write user "u"/"p" and one
// read-only user "ro"/"p" on a memfs holding files.
func newMemServer(t testing.TB, opts ftpserver.Options, files map[string]string) (*ftpservertest.Server, *memfs.FS) {
	t.Helper()
	fsys := memfs.New()
	for name, data := range files {
		if i := strings.LastIndexByte(name, '/'); i > 0 {
			if err := fsys.MkdirAll(name[:i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := fsys.WriteFile(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	opts.Auth = ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
		ftpservertest.User{Name: "ro", Password: "p", FS: fsys, Perms: ftpserver.PermReadOnly},
	)
	return ftpservertest.Start(t, "", opts), fsys
}

var _ storage.FS = (*memfs.FS)(nil)

// activeListener listens on addr ("127.0.0.1:0", "[::1]:0") for an
// active-mode data connection; it is closed when the test ends.
func activeListener(t testing.TB, addr string) *net.TCPListener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.(*net.TCPListener)
}
