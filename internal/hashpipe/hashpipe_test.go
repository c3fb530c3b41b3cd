package hashpipe

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
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
