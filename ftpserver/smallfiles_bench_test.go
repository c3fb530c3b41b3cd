package ftpserver_test

import (
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/ftpserver/ftpservertest"
	"github.com/ferryftp/ferry/storage/localfs"
)

// BenchmarkSmallRETR downloads 4 KiB files one after the other over one
// session, as the harness's small-file workload does: EPSV, connect,
// RETR, read to EOF, 226. One op is one file.
//
//	go test -run '^$' -bench SmallRETR -cpuprofile cpu.out ./ftpserver
func BenchmarkSmallRETR(b *testing.B) {
	dir := b.TempDir()
	const files = 64
	data := make([]byte, 4096)
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fsys, err := localfs.New(dir, localfs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fsys.Close() })
	srv := ftpservertest.Start(b, "", ftpserver.Options{
		Auth: ftpservertest.Auth(ftpservertest.User{Name: "u", Password: "p", FS: fsys, Perms: ftpserver.PermAll}),
	})
	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	tp := textproto.NewConn(nc)
	cmd := func(code int, format string, args ...any) string {
		b.Helper()
		if err := tp.PrintfLine(format, args...); err != nil {
			b.Fatal(err)
		}
		_, msg, err := tp.ReadResponse(code)
		if err != nil {
			b.Fatal(err)
		}
		return msg
	}
	if _, _, err := tp.ReadResponse(ftp.CodeServiceReady); err != nil {
		b.Fatal(err)
	}
	cmd(ftp.CodeNeedPassword, "USER u")
	cmd(ftp.CodeLoggedIn, "PASS p")
	cmd(ftp.CodeOK, "TYPE I")
	buf := make([]byte, 32<<10)
	host, _, _ := net.SplitHostPort(srv.Addr)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		port, err := ftp.ParseEPSVReply(cmd(ftp.CodeExtendedPassive, "EPSV"))
		if err != nil {
			b.Fatal(err)
		}
		dc, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err != nil {
			b.Fatal(err)
		}
		cmd(ftp.CodeFileStatusOK, "RETR f%d", i%files)
		n, err := io.CopyBuffer(io.Discard, dc, buf)
		dc.Close()
		if err != nil || n != 4096 {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		if _, _, err := tp.ReadResponse(ftp.CodeClosingData); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
