package ftpclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

const testUser, testPass = "alice", "secret"

// server starts ferry on addr with a localfs root and returns the address
// and the root folder.
func server(t testing.TB, addr string) (string, string) {
	t.Helper()
	root := t.TempDir()
	fsys, err := localfs.New(root, localfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := ftpservertest.Start(t, addr, ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: testUser, Password: testPass, FS: fsys, Perms: ftpserver.PermAll}),
	})
	return s.Addr, root
}

func ipv6Available(t testing.TB) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	l.Close()
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, addr string, opts Options) *Conn {
	t.Helper()
	if opts.User == "" {
		opts.User, opts.Password = testUser, testPass
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	c, err := Dial(testCtx(t), addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustEqualFile(t testing.TB, name string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the expected %d", name, len(got), len(want))
	}
}
