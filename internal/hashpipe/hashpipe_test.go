package hashpipe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

func TestPipeHashesWhatWasMovedInOrder(t *testing.T) {
	data := make([]byte, 3*Chunk*Buffers+12345) // more buffers than the pipe has
	rand.Read(data)
	want := sha256.Sum256(data)

	p := Start(sha256.New())
	p.Write(data[:100]) // a Write before a Copy keeps its place
	var dst bytes.Buffer
	n, err := p.Copy(&dst, iotest.HalfReader(bytes.NewReader(data[100:len(data)-7])))
	if err != nil || n != int64(len(data)-107) {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	p.Write(data[len(data)-7:])
	total, sum := p.Finish()
	if total != int64(len(data)) || !bytes.Equal(sum, want[:]) {
		t.Fatalf("Finish = %d bytes, sum %x; want %d, %x", total, sum, len(data), want)
	}
	if !bytes.Equal(dst.Bytes(), data[100:len(data)-7]) {
		t.Error("Copy wrote other bytes")
	}
	if n2, sum2 := p.Finish(); n2 != total || !bytes.Equal(sum2, sum) {
		t.Error("a second Finish gave another result")
	}
}

// shortWriter accepts only part of the first write, then fails.
type shortWriter struct{ n int }

func (w *shortWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		return w.n, errors.New("disk full")
	}
	w.n -= len(b)
	return len(b), nil
}

func TestPipeHashesOnlyWhatTheDestinationTook(t *testing.T) {
	data := make([]byte, 2*Chunk)
	rand.Read(data)
	p := Start(sha256.New())
	n, err := p.Copy(&shortWriter{n: 1000}, bytes.NewReader(data))
	if err == nil || n != 1000 {
		t.Fatalf("Copy = %d, %v; want 1000 and the write error", n, err)
	}
	want := sha256.Sum256(data[:1000])
	if total, sum := p.Finish(); total != 1000 || !bytes.Equal(sum, want[:]) {
		t.Fatalf("hashed %d bytes, %x", total, sum)
	}
	if _, err := Start(sha256.New()).Copy(io.Discard, iotest.ErrReader(errors.New("reset"))); err == nil {
		t.Error("a read error was swallowed")
	}
}

func TestWhenFiresOnceAtTheMark(t *testing.T) {
	p := Start(sha256.New())
	calls := 0
	p.When(Chunk+1, func() { calls++ })
	p.Write(make([]byte, Chunk)) // one full buffer: not yet
	if calls != 0 {
		t.Fatal("fired early")
	}
	p.Write(make([]byte, Chunk))
	p.Write(make([]byte, Chunk))
	p.Finish()
	if calls != 1 {
		t.Fatalf("fired %d times", calls)
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.Accept(); ch <- res{c, err} }()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { a.Close(); r.c.Close() })
	return a.(*net.TCPConn), r.c.(*net.TCPConn)
}

func TestSpliceToAndSendFromHashWhatTheyMoved(t *testing.T) {
	data := make([]byte, 2*Span+Chunk+777) // pieces of Span, then a short one
	rand.Read(data)
	want := crc32.ChecksumIEEE(data)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []int64{0, 5000} { // from the start; from an offset (a resume)
		a, b := tcpPair(t)
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Seek(skip, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		send := Start(crc32.NewIEEE())
		sent := make(chan error, 1)
		go func() {
			n, err := send.SendFrom(a, f)
			if err == nil && n != int64(len(data))-skip {
				err = fmt.Errorf("SendFrom moved %d bytes", n)
			}
			a.CloseWrite()
			sent <- err
		}()
		dst, err := os.OpenFile(filepath.Join(dir, "dst"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		recv := Start(crc32.NewIEEE())
		if n, err := recv.SpliceTo(dst, b); err != nil || n != int64(len(data))-skip {
			t.Fatalf("SpliceTo = %d, %v", n, err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		wantPart := crc32.ChecksumIEEE(data[skip:])
		for name, p := range map[string]*Pipe{"SendFrom": send, "SpliceTo": recv} {
			n, sum := p.Finish()
			if n != int64(len(data))-skip || binary.BigEndian.Uint32(sum) != wantPart || p.Err() != nil {
				t.Errorf("%s from %d: hashed %d bytes, %x, %v; want %08x", name, skip, n, sum, p.Err(), wantPart)
			}
		}
		got, _ := os.ReadFile(dst.Name())
		if !bytes.Equal(got, data[skip:]) {
			t.Fatalf("the destination holds other bytes")
		}
	}
	// A source that is not a socket goes through ReadFrom's copy loop, and
	// a Write before keeps its place.
	dst, err := os.OpenFile(filepath.Join(dir, "dst2"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	p := Start(crc32.NewIEEE())
	p.Write(data[:10])
	if _, err := dst.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SpliceTo(dst, iotest.HalfReader(bytes.NewReader(data[10:]))); err != nil {
		t.Fatal(err)
	}
	if _, sum := p.Finish(); binary.BigEndian.Uint32(sum) != want {
		t.Fatalf("sum %x, want %08x", sum, want)
	}
}

func TestAFileRangeThatCannotBeReadBackIsAnError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "w"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wo, err := os.OpenFile(f.Name(), os.O_WRONLY, 0) // cannot be read back
	if err != nil {
		t.Fatal(err)
	}
	defer wo.Close()
	p := Start(crc32.NewIEEE())
	if _, err := p.SpliceTo(wo, bytes.NewReader([]byte("some bytes"))); err != nil {
		t.Fatal(err)
	}
	p.Finish()
	if p.Err() == nil {
		t.Fatal("no error for a range that could not be read back")
	}
}

func TestATransferInOnePieceIsHashedWithoutTheGoroutine(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4096, Chunk - 1, Chunk, Chunk + 1, Span + 1} {
		data := make([]byte, size)
		rand.Read(data)
		want := crc32.ChecksumIEEE(data)
		check := func(how string, p *Pipe) {
			t.Helper()
			// Copy and Write fill whole buffers and see the end only after
			// one: a transfer of exactly Chunk bytes is handed over.
			inline := size <= Chunk && (how == "SpliceTo" || how == "SendFrom") || size < Chunk
			if p.started == inline {
				t.Errorf("%s of %d bytes: hashing goroutine started = %v", how, size, p.started)
			}
			n, sum := p.Finish()
			if n != int64(size) || binary.BigEndian.Uint32(sum) != want || p.Err() != nil {
				t.Errorf("%s of %d bytes: hashed %d, %x, %v; want %08x", how, size, n, sum, p.Err(), want)
			}
		}

		p := Start(crc32.NewIEEE())
		if _, err := p.Copy(io.Discard, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		check("Copy", p)

		p = Start(crc32.NewIEEE())
		p.Write(data)
		check("Write", p)

		a, b := tcpPair(t)
		go func() { a.Write(data); a.CloseWrite() }()
		dst, err := os.OpenFile(filepath.Join(dir, "dst"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		p = Start(crc32.NewIEEE())
		if _, err := p.SpliceTo(dst, b); err != nil {
			t.Fatal(err)
		}
		check("SpliceTo", p)

		c, d := tcpPair(t)
		go io.Copy(io.Discard, d)
		if _, err := dst.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		p = Start(crc32.NewIEEE())
		if _, err := p.SendFrom(c, dst); err != nil {
			t.Fatal(err)
		}
		check("SendFrom", p)
		dst.Close()
	}
}
