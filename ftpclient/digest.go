package ftpclient

import (
	"hash"
	"io"

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

// hashingWriter writes to w and feeds d. As an io.ReaderFrom it reads the
// data connection into the digest's buffers, with no copy.
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
func (h hashingWriter) ReadFrom(r io.Reader) (int64, error) { return h.d.p.Copy(h.w, r) }

// hashingReader reads r and feeds d. As an io.WriterTo it reads the file
// into the digest's buffers and hands each to it after writing it, with no
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
func (h hashingReader) WriteTo(w io.Writer) (int64, error) { return h.d.p.Copy(w, h.r) }
