package ftpclient

import (
	"hash"
	"io"
	"os"
	"syscall"

	"github.com/ferryftp/ferry/internal/hashpipe"
)

// digest is a local digest computed while a file is transferred, by a
// hashpipe.Pipe: hashing runs in its own goroutine beside the network and
// disk I/O. A nil *digest (no verification) does nothing.
type digest struct {
	algo string
	p    *hashpipe.Pipe
}

func startDigest(algo string, h hash.Hash) *digest {
	return &digest{algo: algo, p: hashpipe.Start(h)}
}

// when arranges for fn to be called (once, by the goroutine that feeds
// the digest) when n bytes of the transfer have been hashed. Safe on a nil
// digest (fn is never called).
func (d *digest) when(n int64, fn func()) {
	if d != nil {
		d.p.When(n, fn)
	}
}

// Write adds a copy of p to the digest; it never fails.
func (d *digest) Write(p []byte) (int, error) { return d.p.Write(p) }

// finish hashes what is left, stops the goroutine and returns the sum. It
// may be called more than once, and on a nil digest (returning nil).
func (d *digest) finish() []byte {
	if d == nil {
		return nil
	}
	_, sum := d.p.Finish()
	return sum
}

// err reports, after finish, a part of the transfer that could not be
// read back from the local file to be hashed (the sum is then incomplete).
func (d *digest) err() error {
	if d == nil {
		return nil
	}
	return d.p.Err()
}

// hashingWriter writes to w and feeds d. As an io.ReaderFrom it splices a
// plain TCP data connection into the file and hashes what arrived by
// reading it back from the page cache (hashpipe.SpliceTo); other sources
// (TLS) are read into the digest's buffers, written and hashed with no
// further copy.
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
	f, isFile := h.w.(*os.File)
	// A plain TCP connection, as it is or wrapped by its own WriteTo (as
	// io.Copy hands it over): a syscall.Conn that os.File can splice from.
	if _, isSock := r.(syscall.Conn); isFile && isSock && zeroCopy {
		return h.d.p.SpliceTo(f, r)
	}
	return h.d.p.Copy(h.w, r)
}

// zeroCopy turns the splice/sendfile paths of hashingWriter and
// hashingReader on; tests turn it off to compare.
var zeroCopy = true

// hashingReader reads r and feeds d. As an io.WriterTo it sends the file
// to a plain TCP data connection with sendfile and hashes what was sent by
// reading it back from the page cache (hashpipe.SendFrom); to other
// destinations (TLS) it reads the file into the digest's buffers and hands
// each to it after writing it, with no further copy.
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
	f, isFile := h.r.(*os.File)
	if _, isSock := w.(syscall.Conn); isFile && isSock && zeroCopy {
		return h.d.p.SendFrom(w, f)
	}
	return h.d.p.Copy(w, h.r)
}
