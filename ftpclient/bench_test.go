package ftpclient

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkDownload compares a single stream with segmented downloads of one
// 256 MiB file from ferry on localfs over loopback (plain FTP, passive).
func BenchmarkDownload(b *testing.B) {
	const size = 256 << 20
	addr, root := server(b, "")
	writeFile(b, filepath.Join(root, "big.bin"), randomBytes(size))
	for _, segs := range []int{1, 2, 4, 8} {
		name := "single stream"
		if segs > 1 {
			name = strconv.Itoa(segs) + " segments"
		}
		b.Run(name, func(b *testing.B) {
			cl := NewClient(addr, Options{User: testUser, Password: testPass})
			cl.MaxConns = segs
			defer cl.Close()
			dest := filepath.Join(b.TempDir(), "big.bin")
			b.SetBytes(size)
			for b.Loop() {
				var err error
				if segs == 1 {
					_, err = cl.Download(context.Background(), "big.bin", dest, TransferOptions{})
				} else {
					_, err = cl.DownloadSegmented(context.Background(), "big.bin", dest, segs, TransferOptions{}, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
