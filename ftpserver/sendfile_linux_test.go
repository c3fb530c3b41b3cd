//go:build linux

package ftpserver

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// copyChunk keeps what a short write left for the next call, and reports
// the end of the file only once everything went out.
func TestCopyChunkKeepsWhatAShortWriteLeft(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A small, non-blocking send buffer: most writes are cut short or
	// refused with EAGAIN while the reader lags.
	unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4096)
	unix.SetNonblock(fds[0], true)
	rd := os.NewFile(uintptr(fds[1]), "reader")
	defer rd.Close()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(rd); got <- b }()

	buf := make([]byte, 128<<10)
	var pending []byte
	var sent, eagain int
	for {
		n, err := copyChunk(fds[0], int(f.Fd()), buf, &pending)
		sent += n
		if err == unix.EAGAIN {
			eagain++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	unix.Close(fds[0])
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("received %d bytes, want the %d of the file (sent %d)", len(b), len(data), sent)
	}
	if eagain == 0 {
		t.Error("no write was refused: the short-write path was not exercised")
	}
}
