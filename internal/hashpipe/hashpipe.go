// Package hashpipe computes a digest of the bytes a transfer moves, in a
// goroutine of its own, so that hashing runs beside the network and disk
// I/O instead of between them. The client (ftpclient, verifying what it
// sends and receives) and the server (ftpserver, hashing uploads for its
// HASH cache) both use it.
//
// The bytes travel in buffers of Chunk bytes: Copy reads the source into a
// buffer, writes it to the destination and then hands the very buffer to
// the hashing goroutine, with no copy; Write copies. At most Buffers
// buffers exist per pipe, so a slow hash holds the copy back instead of
// growing memory.
package hashpipe

import (
	"errors"
	"hash"
	"io"
)

// Chunk is the size of the buffers. 256 KiB fits a core's L2 cache: writing
// a file from 1 MiB buffers cost three times the system time of 256 KiB
// ones on the benchmark machine (the kernel's copy from user space missed
// the cache), and whole buffers give storage far larger writes than the
// ~64 KiB a socket read returns.
const Chunk = 256 << 10

// Buffers is how many buffers a pipe has at most.
const Buffers = 4

// Pipe is a digest fed by one goroutine (the transfer's) and computed by
// another. Its methods other than Sum are for the feeding goroutine only.
type Pipe struct {
	h     hash.Hash
	cur   []byte      // partly filled buffer (Write)
	work  chan []byte // full buffers to hash
	free  chan []byte // hashed buffers to reuse
	made  int         // buffers allocated so far
	done  chan struct{}
	n     int64 // bytes handed to the hashing goroutine
	sum   []byte
	onFed func()
	at    int64
}

// Start starts hashing with h.
func Start(h hash.Hash) *Pipe {
	p := &Pipe{h: h, work: make(chan []byte, Buffers), free: make(chan []byte, Buffers), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for b := range p.work {
			p.h.Write(b)
			p.free <- b[:0]
		}
	}()
	return p
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
		return make([]byte, 0, Chunk)
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
	p.work <- b
	p.n += int64(len(b))
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
		p.hand(b[:m])
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

// Finish hashes what is left, stops the goroutine and returns the number
// of bytes hashed and the sum. Later calls return the same.
func (p *Pipe) Finish() (int64, []byte) {
	if p.sum == nil {
		p.onFed = nil
		p.flush()
		close(p.work)
		<-p.done
		p.sum = p.h.Sum(nil)
	}
	return p.n, p.sum
}
