package ftpclient

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ferryftp/ferry/internal/peers"
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

// BenchmarkMirrorDownFromVsftpd mirrors 500 small files (0–64 KiB, 5
// folders) from vsftpd with 4 transfers at once, verified (by size: vsftpd
// has no HASH), into /dev/shm when there is one. Its CPU profile is the
// client's alone (vsftpd is another process):
//
//	go test -run '^$' -bench MirrorDownFromVsftpd -cpuprofile cpu.pprof ./ftpclient
func BenchmarkMirrorDownFromVsftpd(b *testing.B) {
	s := peers.Start(b, peers.Vsftpd, peers.Options{})
	for i := range 500 {
		n := (i * 2654435761) % (64 << 10)
		writeFile(b, filepath.Join(s.Root, "tree", "d"+strconv.Itoa(i%5), "f"+strconv.Itoa(i)), randomBytes(n))
	}
	if err := s.Chown(); err != nil {
		b.Fatal(err)
	}
	cl := NewClient(s.Addr, Options{User: s.User, Password: s.Password})
	cl.MaxConns = 4
	defer cl.Close()
	tmp := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		tmp = "/dev/shm"
	}
	files := 0
	for b.Loop() {
		dst, err := os.MkdirTemp(tmp, "ferry-mirror-bench-")
		if err != nil {
			b.Fatal(err)
		}
		st, err := cl.MirrorDown(context.Background(), "/tree", dst, MirrorOptions{Parallel: 4, Verify: true})
		os.RemoveAll(dst)
		if err != nil || st.Files != 500 {
			b.Fatalf("MirrorDown = %+v, %v", st, err)
		}
		files += st.Files
	}
	b.ReportMetric(float64(files)/b.Elapsed().Seconds(), "files/s")
}
