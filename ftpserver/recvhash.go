package ftpserver

import (
	"errors"
	"hash"
	"io"
	"io/fs"

	"github.com/ferryftp/ferry/storage"
)

// recvChunk is the size of the buffers an upload is read into while it is
// hashed; recvBuffers of them are in use at most per upload.
const (
	recvChunk   = 256 << 10
	recvBuffers = 4
)

// recvHash computes the digest of an upload from the bytes on their way to
// storage, so that the HASH that usually follows an upload is answered from
// the HASH cache instead of reading the file again. It is used for uploads
// that write a whole file from its first byte (STOR and STOU without REST,
// APPE to a missing or empty file), with the session's HASH algorithm, and
// only when the server has a HASH cache. The hashing runs in its own
// goroutine beside the network and disk I/O.
//
// Only sessions that have used HASH or OPTS HASH (s.hashWanted) hash their
// uploads: for everyone else an upload keeps the zero-copy path and costs
// no hashing (SHA-256 takes about 0.5 CPU seconds per GiB). ferry's client
// sends OPTS HASH before a verified upload.
//
// A nil *recvHash does nothing, so the upload path calls it unconditionally.
type recvHash struct {
	s    *session
	fsys storage.FS
	name string
	algo string

	h    hash.Hash
	n    int64       // bytes handed to h
	cur  []byte      // partly filled buffer (Write path)
	work chan []byte // full buffers to hash
	free chan []byte // hashed buffers to reuse
	done chan struct{}
}

// receiveHash returns the hasher for an upload to name with opts, or nil
// when this upload is not hashed (no cache, a resume, an append to data
// that is already there, a backend that cannot be a cache key).
func (s *session) receiveHash(name string, opts storage.CreateOptions) *recvHash {
	cache := s.hashCache()
	if !s.hashWanted || cache == nil || cache.max <= 0 || !cacheable(s.ident.FS) || opts.Offset > 0 {
		return nil
	}
	if opts.Append {
		fi, err := s.ident.FS.Stat(s.ctx, name)
		if err == nil && fi.Size() > 0 || err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	for _, a := range hashAlgos {
		if a.name == s.hashAlgo {
			return &recvHash{s: s, fsys: s.ident.FS, name: name, algo: a.name, h: a.new()}
		}
	}
	return nil
}

// wrap returns w with the hashing added, and starts the hashing goroutine.
// The result is an io.ReaderFrom, so io.Copy hands it the data connection.
// Called once per upload, by the transfer goroutine.
func (r *recvHash) wrap(w io.WriteCloser) io.WriteCloser {
	if r == nil {
		return w
	}
	r.work = make(chan []byte, recvBuffers-1)
	r.free = make(chan []byte, recvBuffers)
	r.done = make(chan struct{})
	for range recvBuffers {
		r.free <- make([]byte, 0, recvChunk)
	}
	go func() {
		defer close(r.done)
		for b := range r.work {
			r.h.Write(b)
			r.free <- b[:0]
		}
	}()
	return hashingWC{w, r}
}

// hand gives a filled buffer to the hashing goroutine.
func (r *recvHash) hand(b []byte) {
	if len(b) > 0 {
		r.n += int64(len(b))
		r.work <- b
	} else {
		r.free <- b
	}
}

// stop hashes what is left and stops the goroutine; it returns the number
// of bytes hashed and the sum. Safe to call when wrap never ran.
func (r *recvHash) stop() (int64, []byte) {
	if r.work == nil {
		return 0, nil
	}
	if r.cur != nil {
		r.hand(r.cur)
		r.cur = nil
	}
	close(r.work)
	<-r.done
	r.work = nil
	return r.n, r.h.Sum(nil)
}

// end wraps an upload's cleanup: after an upload that completed (its
// cleanup published the file, so the 226 follows), the digest goes into
// the HASH cache with the size and modification time storage reports for
// the file now, provided the size is the number of bytes hashed. After
// any other end, nothing is stored. Either way, older digests of the name
// are dropped first.
func (r *recvHash) end(s *session, name string, cleanup cleanupFunc) cleanupFunc {
	return func(o outcome) error {
		err := cleanup(o)
		cache := s.hashCache()
		cache.drop(s.ident.FS, name)
		if r == nil {
			return err
		}
		n, sum := r.stop()
		if err != nil || o != completed || sum == nil {
			return err
		}
		fi, serr := r.fsys.Stat(s.ctx, r.name)
		if serr == nil && fi.Mode().IsRegular() && fi.Size() == n {
			cache.put(r.fsys, r.name, n, fi.ModTime(), r.algo, sum)
		}
		return nil
	}
}

// hashingWC writes to the upload's writer and feeds the digest.
type hashingWC struct {
	io.WriteCloser
	r *recvHash
}

// Write writes p and hashes the part that was written (a copy of it).
func (w hashingWC) Write(p []byte) (int, error) {
	n, err := w.WriteCloser.Write(p)
	for q := p[:n]; len(q) > 0; {
		if w.r.cur == nil {
			w.r.cur = <-w.r.free
		}
		k := copy(w.r.cur[len(w.r.cur):cap(w.r.cur)], q)
		w.r.cur = w.r.cur[:len(w.r.cur)+k]
		q = q[k:]
		if len(w.r.cur) == cap(w.r.cur) {
			w.r.hand(w.r.cur)
			w.r.cur = nil
		}
	}
	return n, err
}

// ReadFrom reads src into the digest's buffers, writes each to storage and
// then hands it to the hashing goroutine, with no copy.
func (w hashingWC) ReadFrom(src io.Reader) (int64, error) {
	if w.r.cur != nil { // keep the order if Write was used before
		w.r.hand(w.r.cur)
		w.r.cur = nil
	}
	var total int64
	for {
		// Whole buffers: storage gets 256 KiB writes, which cost far less
		// system time than the ~64 KiB a socket read returns.
		b := (<-w.r.free)[:recvChunk]
		n, rerr := io.ReadFull(src, b)
		m := 0
		var werr error
		if n > 0 {
			m, werr = w.WriteCloser.Write(b[:n])
			total += int64(m)
		}
		w.r.hand(b[:m])
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
