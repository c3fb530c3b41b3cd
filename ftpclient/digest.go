package ftpclient

import (
	"errors"
	"hash"
	"io"
)

// digestChunk is the size of the buffers a digest hashes: Write collects
// this many bytes before handing them to the hashing goroutine, and the
// copy loops of hashingWriter and hashingReader read this much at a time.
// 256 KiB fits a core's L2 cache: on the benchmark machine, writing a file
// from 1 MiB buffers cost three times the system time of 256 KiB ones (the
// kernel's copy from user space missed the cache).
const digestChunk = 256 << 10

// digestBuffers is how many buffers a digest keeps in flight at most.
const digestBuffers = 8

// digest is a local digest computed while a file is transferred. Buffers
// are handed to a goroutine that hashes them, so hashing runs beside the
// network and disk I/O instead of between them.
type digest struct {
	algo string
	h    hash.Hash

	cur  []byte
	work chan []byte // full buffers to hash
	free chan []byte // hashed buffers to reuse
	done chan struct{}
	sum  []byte // set by finish

	fed     int64  // bytes handed to the goroutine so far
	onFed   func() // called once when fed reaches onFedAt; nil after
	onFedAt int64
}

func startDigest(algo string, h hash.Hash) *digest {
	d := &digest{algo: algo, h: h, work: make(chan []byte, digestBuffers-2), free: make(chan []byte, digestBuffers), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		for b := range d.work {
			d.h.Write(b)
			select {
			case d.free <- b[:0]:
			default:
			}
		}
	}()
	return d
}

// buffer returns an empty buffer of capacity digestChunk.
func (d *digest) buffer() []byte {
	select {
	case b := <-d.free:
		return b
	default:
		return make([]byte, 0, digestChunk)
	}
}

// hand gives b to the hashing goroutine; the caller must not touch it again.
func (d *digest) hand(b []byte) {
	if len(b) > 0 {
		d.work <- b
		d.fed += int64(len(b))
		if d.onFed != nil && d.fed >= d.onFedAt {
			fn := d.onFed
			d.onFed = nil
			fn()
		}
	}
}

// when arranges for fn to be called (once, by the goroutine that feeds
// the digest) when n bytes of the transfer have been handed to it. Safe
// on a nil digest (fn is never called).
func (d *digest) when(n int64, fn func()) {
	if d != nil {
		d.onFed, d.onFedAt = fn, n
	}
}

// Write adds a copy of p to the digest; it never fails.
func (d *digest) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.cur == nil {
			d.cur = d.buffer()
		}
		k := copy(d.cur[len(d.cur):cap(d.cur)], p)
		d.cur = d.cur[:len(d.cur)+k]
		p = p[k:]
		if len(d.cur) == cap(d.cur) {
			d.hand(d.cur)
			d.cur = nil
		}
	}
	return n, nil
}

// finish hashes what is left, stops the goroutine and returns the sum. It
// may be called more than once, and on a nil digest (returning nil).
func (d *digest) finish() []byte {
	if d == nil {
		return nil
	}
	if d.sum == nil {
		d.onFed = nil // the transfer is over
		d.hand(d.cur)
		d.cur = nil
		close(d.work)
		<-d.done
		d.sum = d.h.Sum(nil)
	}
	return d.sum
}

// hashingWriter writes to w and feeds d. As an io.ReaderFrom it reads the
// data connection into digestChunk buffers that it then hands to d, with
// no copy.
type hashingWriter struct {
	w io.Writer
	d *digest
}

func (h hashingWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.d.Write(p[:n])
	return n, err
}

// ReadFrom copies r to w, hashing on the way.
func (h hashingWriter) ReadFrom(r io.Reader) (int64, error) {
	h.d.hand(h.d.cur) // keep the order if Write was used before
	h.d.cur = nil
	var total int64
	for {
		b := h.d.buffer()[:digestChunk]
		n, rerr := io.ReadFull(r, b)
		if n > 0 {
			m, werr := h.w.Write(b[:n])
			total += int64(m)
			h.d.hand(b[:m])
			if werr != nil {
				return total, werr
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return total, nil
			}
			return total, rerr
		}
	}
}

// hashingReader reads r and feeds d. As an io.WriterTo it reads the file
// into digestChunk buffers and hands each to d after writing it, with no
// copy.
type hashingReader struct {
	r io.Reader
	d *digest
}

func (h hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.d.Write(p[:n])
	return n, err
}

// WriteTo copies r to w, hashing on the way.
func (h hashingReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		b := h.d.buffer()[:digestChunk]
		n, rerr := io.ReadFull(h.r, b)
		if n > 0 {
			m, werr := w.Write(b[:n])
			total += int64(m)
			h.d.hand(b[:m])
			if werr != nil {
				return total, werr
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return total, nil
			}
			return total, rerr
		}
	}
}
