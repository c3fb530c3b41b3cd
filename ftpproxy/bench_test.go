package ftpproxy

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/ftpclient"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

// benchBackend serves a directory holding small.bin (4 KiB) and big.bin
// (size bytes) from ferry on loopback and returns its address.
func benchBackend(b *testing.B, size int64) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.bin"), make([]byte, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := ftpservertest.Start(b, "", ftpserver.Options{Auth: ftpservertest.Auth(
		ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll},
	)})
	return s.Addr
}

// benchTargets returns the backend itself and a proxy in front of it, the
// baseline and the proxied path of one run.
func benchTargets(b *testing.B, size int64) map[string]string {
	backend := benchBackend(b, size)
	proxy, _ := startProxy(b, "", Options{Backend: backend, Logger: discardLogger()})
	return map[string]string{"direct": backend, "proxy": proxy}
}

func benchConn(b *testing.B, addr string) *ftpclient.Conn {
	c, err := ftpclient.Dial(context.Background(), addr, ftpclient.Options{User: "u", Password: "p"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkSmallFiles downloads a 4 KiB file again and again on one
// session (a new passive data connection each time), directly and through
// the proxy; compare the two in one run.
func BenchmarkSmallFiles(b *testing.B) {
	targets := benchTargets(b, 0)
	for _, name := range []string{"direct", "proxy"} {
		b.Run(name, func(b *testing.B) {
			c := benchConn(b, targets[name])
			b.SetBytes(4096)
			for b.Loop() {
				if _, err := c.Retr(context.Background(), "small.bin", 0, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRETR downloads a 256 MiB file, directly and through the proxy.
func BenchmarkRETR(b *testing.B) {
	const size = 256 << 20
	targets := benchTargets(b, size)
	for _, name := range []string{"direct", "proxy"} {
		b.Run(name, func(b *testing.B) {
			c := benchConn(b, targets[name])
			b.SetBytes(size)
			for b.Loop() {
				if n, err := c.Retr(context.Background(), "big.bin", 0, io.Discard); err != nil || n != size {
					b.Fatal(n, err)
				}
			}
		})
	}
}
