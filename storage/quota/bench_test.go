package quota_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/quota"
)

// BenchmarkUpload receives 64 MiB from a loopback TCP connection into a
// localfs file the way the server does (ReadFrom, spliced), without and
// with a quota in front.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	for _, limited := range []bool{false, true} {
		name := "plain"
		if limited {
			name = "quota"
		}
		b.Run(name, func(b *testing.B) {
			inner, err := localfs.New(b.TempDir(), localfs.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer inner.Close()
			var fsys storage.FS = inner
			if limited {
				tr := quota.NewTracker(quota.Limits{MaxBytes: 1 << 40}, nil)
				tr.Set(quota.Usage{})
				fsys = quota.Wrap(inner, tr)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			for b.Loop() {
				go func() {
					c, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						return
					}
					for n := 0; n < size; n += len(buf) {
						c.Write(buf)
					}
					c.Close()
				}()
				conn, err := ln.Accept()
				if err != nil {
					b.Fatal(err)
				}
				w, err := fsys.Create(context.Background(), "f", storage.CreateOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n, err := w.(io.ReaderFrom).ReadFrom(conn)
				conn.Close()
				if err != nil || n != size {
					b.Fatalf("ReadFrom = %d, %v", n, err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
