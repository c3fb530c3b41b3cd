package ftpserver

import (
	"errors"
	"hash"
	"io"
	"io/fs"

	"github.com/ferryftp/ferry/internal/hashpipe"
	"github.com/ferryftp/ferry/storage"
)

// recvHash computes the digest of an upload from the bytes on their way to
// storage, so that the HASH that usually follows an upload is answered from
// the HASH cache instead of reading the file again. It is used for uploads
// that write a whole file from its first byte (STOR and STOU without REST,
// APPE to a missing or empty file), with the session's HASH algorithm, and
// only when the server has a HASH cache, and only for the algorithms
// whose hashAlgos entry says onReceive (not CRC32). The hashing runs in
// its own goroutine beside the network and disk I/O.
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

	h   hash.Hash
	p   *hashpipe.Pipe // hashing, once wrap ran
	sum []byte         // the digest of a completed upload, once end has run
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
		if a.name == s.hashAlgo && a.onReceive {
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
	r.p = hashpipe.Start(r.h)
	return hashingWC{w, r.p}
}

// stop hashes what is left and stops the goroutine; it returns the number
// of bytes hashed and the sum. Safe to call when wrap never ran.
func (r *recvHash) stop() (int64, []byte) {
	if r.p == nil {
		return 0, nil
	}
	return r.p.Finish()
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
			r.sum = sum
		}
		return nil
	}
}

// hashingWC writes to the upload's writer and feeds the digest.
type hashingWC struct {
	io.WriteCloser
	p *hashpipe.Pipe
}

// Write writes b and hashes the part that was written (a copy of it).
func (w hashingWC) Write(b []byte) (int, error) {
	n, err := w.WriteCloser.Write(b)
	w.p.Write(b[:n])
	return n, err
}

// ReadFrom reads src into the digest's buffers, writes each to storage and
// then hands it to the hashing goroutine, with no copy.
func (w hashingWC) ReadFrom(src io.Reader) (int64, error) { return w.p.Copy(w.WriteCloser, src) }
