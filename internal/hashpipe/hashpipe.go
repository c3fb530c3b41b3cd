// Package hashpipe computes a digest of the bytes a transfer moves, in a
// goroutine of its own, so that hashing runs beside the network and disk
// I/O instead of between them (a transfer that fits in one piece is hashed
// by the transferring goroutine: see Pipe). The client (ftpclient, verifying what it
// sends and receives) and the server (ftpserver, hashing uploads for its
// HASH cache) both use it.
//
// The bytes travel in buffers of Chunk bytes: Copy reads the source into a
// buffer, writes it to the destination and then hands the very buffer to
// the hashing goroutine, with no copy; Write copies. At most Buffers
// buffers exist per pipe, so a slow hash holds the copy back instead of
// growing memory.
//
// SpliceTo and SendFrom keep the kernel's zero-copy paths instead: they
// move the data between a file and a socket in pieces of Span bytes with
// splice(2) or sendfile(2), and the hashing goroutine reads each piece back
// from the file (from the page cache, where the transfer just put it or
// took it from). That costs one copy into a small buffer that stays in the
// CPU cache, where Copy costs two copies through user space and a hand-off
// per Chunk (see docs/BENCHMARKS.md, "Verification overhead").
package hashpipe

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// Chunk is the size of the buffers. 256 KiB fits a core's L2 cache: writing
// a file from 1 MiB buffers cost three times the system time of 256 KiB
// ones on the benchmark machine (the kernel's copy from user space missed
// the cache), and whole buffers give storage far larger writes than the
// ~64 KiB a socket read returns.
const Chunk = 256 << 10

// Buffers is how many buffers a pipe has at most.
const Buffers = 4

// Span is the size of the pieces SpliceTo and SendFrom move with one
// splice or sendfile loop before handing them to the hash: large enough
// that a hand-off per piece costs nothing, small enough that the piece is
// still in the page cache (and the hash close behind the transfer).
const Span = 4 << 20

// bufs holds Chunk-sized buffers between pipes: a mirror of many small
// files would otherwise allocate (and collect) a buffer per file.
var bufs = sync.Pool{New: func() any { b := make([]byte, Chunk); return &b }}

func getBuf() []byte { return (*bufs.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if cap(b) == Chunk {
		b = b[:0]
		bufs.Put(&b)
	}
}

// item is one piece of hashing work: a buffer, or a range of a file to
// read back.
type item struct {
	b      []byte
	f      *os.File
	off, n int64
}

// Pipe is a digest fed by one goroutine (the transfer's) and computed by
// another. Its methods are for the feeding goroutine only.
//
// The hashing goroutine starts with the first piece of work that is not
// the whole transfer: a transfer that ends within its first piece (a
// small file) is hashed by the feeding goroutine itself, since handing a
// few kilobytes to another goroutine costs more than hashing them.
type Pipe struct {
	h       hash.Hash
	cur     []byte      // partly filled buffer (Write)
	work    chan item   // full buffers and file ranges to hash
	free    chan []byte // hashed buffers to reuse
	made    int         // buffers taken from the pool so far
	started bool        // the hashing goroutine runs
	done    chan struct{}
	n       int64 // bytes hashed or handed over to be hashed
	sum     []byte
	err     error // a file range could not be read back
	onFed   func()
	at      int64
}

// Start returns a pipe that hashes with h; its goroutine starts with the
// first piece of work handed to it.
func Start(h hash.Hash) *Pipe {
	return &Pipe{h: h, work: make(chan item, Buffers), free: make(chan []byte, Buffers), done: make(chan struct{})}
}

// run is the hashing goroutine.
func (p *Pipe) run() {
	defer close(p.done)
	var rbuf []byte // for file ranges
	defer func() {
		if rbuf != nil {
			putBuf(rbuf)
		}
	}()
	for it := range p.work {
		if it.f == nil {
			p.h.Write(it.b)
			p.free <- it.b[:0]
			continue
		}
		if p.err != nil {
			continue
		}
		if rbuf == nil {
			rbuf = getBuf()
		}
		p.err = hashRange(p.h, it.f, it.off, it.n, rbuf[:Chunk])
	}
}

// send hands it to the hashing goroutine, starting it first if need be.
func (p *Pipe) send(it item) {
	if !p.started {
		p.started = true
		go p.run()
	}
	p.work <- it
}

// inline reports whether a last piece of n bytes is hashed by the feeding
// goroutine: it is when nothing was handed over before it and it is
// small.
func (p *Pipe) inline(n int64) bool { return !p.started && n <= Chunk }

// hashRange adds bytes [off, off+n) of f to h, read with pread into buf.
func hashRange(h hash.Hash, f *os.File, off, n int64, buf []byte) error {
	for n > 0 {
		b := buf[:min(int64(len(buf)), n)]
		k, err := f.ReadAt(b, off)
		h.Write(b[:k])
		off, n = off+int64(k), n-int64(k)
		if err != nil && n > 0 {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("hashpipe: reading back %s: %w", f.Name(), err)
		}
	}
	return nil
}

// buffer returns an empty buffer of capacity Chunk, waiting for one to be
// hashed when all Buffers are in use.
func (p *Pipe) buffer() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made < Buffers {
		p.made++
		return getBuf()
	}
	return <-p.free
}

// hand gives b to the hashing goroutine; the caller must not touch it
// again.
func (p *Pipe) hand(b []byte) {
	if len(b) == 0 {
		p.free <- b[:0]
		return
	}
	p.send(item{b: b})
	p.fed(int64(len(b)))
}

// handLast hands over the last buffer of a transfer, hashing it here when
// it is the only one.
func (p *Pipe) handLast(b []byte) {
	if len(b) > 0 && p.inline(int64(len(b))) {
		p.h.Write(b)
		p.free <- b[:0]
		p.fed(int64(len(b)))
		return
	}
	p.hand(b)
}

// handRange gives the range [off, off+n) of f to the hashing goroutine,
// which reads it back. The range must not change until Finish.
func (p *Pipe) handRange(f *os.File, off, n int64) {
	if n > 0 {
		p.send(item{f: f, off: off, n: n})
		p.fed(n)
	}
}

// handLastRange hands over the last range of a transfer, hashing it here
// when it is the only one and small.
func (p *Pipe) handLastRange(f *os.File, off, n int64) {
	if n > 0 && p.inline(n) {
		b := getBuf()
		if p.err == nil {
			p.err = hashRange(p.h, f, off, n, b[:Chunk])
		}
		putBuf(b)
		p.fed(n)
		return
	}
	p.handRange(f, off, n)
}

// fed counts n more bytes handed over and calls the When function.
func (p *Pipe) fed(n int64) {
	p.n += n
	if p.onFed != nil && p.n >= p.at {
		fn := p.onFed
		p.onFed = nil
		fn()
	}
}

// flush hands over the partly filled buffer of Write, if any, so that
// bytes keep their order.
func (p *Pipe) flush() {
	if p.cur != nil {
		p.hand(p.cur)
		p.cur = nil
	}
}

// When arranges for fn to be called once, by the feeding goroutine, when n
// bytes have been handed to the hash.
func (p *Pipe) When(n int64, fn func()) { p.onFed, p.at = fn, n }

// Write adds a copy of b to the digest; it never fails.
func (p *Pipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = p.buffer()
		}
		k := copy(p.cur[len(p.cur):cap(p.cur)], b)
		p.cur = p.cur[:len(p.cur)+k]
		b = b[k:]
		if len(p.cur) == cap(p.cur) {
			p.flush()
		}
	}
	return n, nil
}

// Copy copies src to dst until EOF, hashing what dst accepted, with no
// copy of the bytes: it reads whole buffers (io.ReadFull) so dst gets
// Chunk-sized writes.
func (p *Pipe) Copy(dst io.Writer, src io.Reader) (int64, error) {
	p.flush()
	var total int64
	for {
		b := p.buffer()[:Chunk]
		n, rerr := io.ReadFull(src, b)
		m := 0
		var werr error
		if n > 0 {
			m, werr = dst.Write(b[:n])
			total += int64(m)
		}
		if werr != nil || rerr != nil {
			p.handLast(b[:m])
		} else {
			p.hand(b[:m])
		}
		if werr != nil {
			return total, werr
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return total, nil
			}
			return total, rerr
		}
	}
}

// SpliceTo copies src to f, from f's current offset, until EOF, hashing
// what was written: it hands f.ReadFrom pieces of at most Span bytes (so a
// *net.TCPConn source is spliced, with no copy through user space) and
// has the hashing goroutine read each piece back from f, which must be
// open for reading too.
func (p *Pipe) SpliceTo(f *os.File, src io.Reader) (int64, error) {
	p.flush()
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		n, err := f.ReadFrom(&io.LimitedReader{R: src, N: Span})
		off, total = off+n, total+n
		if err != nil || n < Span {
			p.handLastRange(f, off-n, n)
			return total, err
		}
		p.handRange(f, off-n, n)
	}
}

// SendFrom copies f, from its current offset to its end, to dst, hashing
// what dst took: it hands dst pieces of at most Span bytes of f as
// *io.LimitedReader (so a *net.TCPConn sends them with sendfile, with no
// copy through user space) and has the hashing goroutine read each piece
// back from f.
func (p *Pipe) SendFrom(dst io.Writer, f *os.File) (int64, error) {
	p.flush()
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		n, err := io.Copy(dst, &io.LimitedReader{R: f, N: Span})
		off, total = off+n, total+n
		if err != nil || n < Span {
			p.handLastRange(f, off-n, n)
			return total, err
		}
		p.handRange(f, off-n, n)
	}
}

// Err reports a failure to read a file range back (SpliceTo, SendFrom),
// after which the sum does not cover every byte moved. Call it after
// Finish.
func (p *Pipe) Err() error { return p.err }

// Finish hashes what is left, stops the goroutine and returns the number
// of bytes hashed and the sum. Later calls return the same.
func (p *Pipe) Finish() (int64, []byte) {
	if p.sum == nil {
		p.onFed = nil
		if p.cur != nil {
			p.handLast(p.cur)
			p.cur = nil
		}
		close(p.work)
		if p.started {
			<-p.done
		}
		for range p.made {
			putBuf(<-p.free)
		}
		p.made = 0
		p.sum = p.h.Sum(nil)
	}
	return p.n, p.sum
}
