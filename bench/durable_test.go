package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

// BenchmarkDurableUploads measures what durable_uploads (fsync of the file,
// and of the directory after a rename or a new name) costs: one 64 MiB
// STOR, and batches of 4 KiB STORs, each with durable uploads on and off,
// in direct and atomic mode. The files land in the test's temporary
// directory, so the figures are those of the disk under $TMPDIR.
//
//	go test -run '^$' -bench DurableUploads -benchtime 3x ./bench
func BenchmarkDurableUploads(b *testing.B) {
	const (
		bigSize   = 64 << 20
		smallSize = 4 << 10
		batch     = 100
	)
	src := filepath.Join(b.TempDir(), "src.bin")
	if err := writeRandomFile(src, bigSize); err != nil {
		b.Fatal(err)
	}
	small := bytes.Repeat([]byte("x"), smallSize)
	for _, atomic := range []bool{false, true} {
		for _, durable := range []bool{true, false} {
			mode := "direct"
			if atomic {
				mode = "atomic"
			}
			name := fmt.Sprintf("%s/durable=%v", mode, durable)
			dir := b.TempDir()
			fsys, err := localfs.New(dir, localfs.Options{Atomic: atomic, NoSync: !durable})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { fsys.Close() })
			srv := ftpservertest.Start(b, "", ftpserver.Options{Auth: ftpservertest.Auth(
				ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll})})
			b.Run("STOR-64MiB/"+name, func(b *testing.B) {
				c := session(b, srv.Addr, nil)
				b.SetBytes(bigSize)
				for b.Loop() {
					f, err := os.Open(src)
					if err != nil {
						b.Fatal(err)
					}
					_, err = c.stor("big.bin", f, nil)
					f.Close()
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("STOR-%dx4KiB/%s", batch, name), func(b *testing.B) {
				c := session(b, srv.Addr, nil)
				n := 0
				for b.Loop() {
					for range batch {
						n++
						if _, err := c.stor(fmt.Sprintf("f%d", n%1000), bytes.NewReader(small), nil); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "files/s")
			})
		}
	}
}
