package localfs

import (
	"io"
	"os"
)

// writebackChunk is how much an upload writes between two requests to the
// kernel to start writing its data back to disk. Without them the page
// cache holds the whole upload dirty until the final fsync, which then
// writes all of it while the client waits for its 226; with them the disk
// works while the network does and the fsync finds at most about two
// chunks left.
const writebackChunk = 8 << 20

// syncer is how an FS makes upload data durable. The default, osSyncer,
// uses fsync(2) and, on Linux, sync_file_range(2); tests substitute one
// that records the calls.
type syncer interface {
	// startWriteback asks the kernel to start writing the bytes
	// [off, off+n) of f to disk, without waiting for them. It reports
	// whether the system can do that at all; false turns the requests off
	// for the rest of the upload (the final sync still writes everything).
	startWriteback(f *os.File, off, n int64) bool
	// awaitWriteback waits until the writeback of [off, off+n) started
	// earlier has finished, so that dirty pages do not pile up faster than
	// the disk takes them.
	awaitWriteback(f *os.File, off, n int64)
	// syncFile makes f's data and metadata durable (fsync).
	syncFile(f *os.File) error
}

// osSyncer is the syncer of the running system.
type osSyncer struct{}

func (osSyncer) startWriteback(f *os.File, off, n int64) bool { return startWriteback(f, off, n) }
func (osSyncer) awaitWriteback(f *os.File, off, n int64)      { awaitWriteback(f, off, n) }
func (osSyncer) syncFile(f *os.File) error                    { return f.Sync() }

// flusher feeds an upload's file and starts the writeback of each
// writebackChunk bytes as soon as they are written, then waits for the
// writeback of the chunk before the previous one. It is used by one
// goroutine at a time (the one running the transfer).
type flusher struct {
	file  *os.File
	sync  syncer // nil: no writeback requests (NoSync, or the system has none)
	chunk int64  // writebackChunk, smaller in tests
	// pos is where the next byte goes; started is where the part not yet
	// handed to the kernel for writeback begins; waited is where the part
	// not yet waited for begins.
	pos, started, waited int64
	// prev is the start of the last chunk handed to the kernel.
	prev int64
}

// newFlusher returns a flusher for file positioned at pos. The first
// writeback request covers the file from its start: what precedes pos (a
// resumed partial upload, the copy an atomic append starts from) may be
// dirty too, and asking for clean pages costs little.
func newFlusher(f *FS, file *os.File, pos int64) flusher {
	fl := flusher{file: file, pos: pos, chunk: f.chunk}
	if !f.opts.NoSync && writebackSupported {
		fl.sync = f.syncer
	}
	return fl
}

// Write writes p to the file.
func (fl *flusher) Write(p []byte) (int, error) {
	n, err := fl.file.Write(p)
	fl.wrote(int64(n))
	return n, err
}

// ReadFrom copies r to the file through (*os.File).ReadFrom, so that a
// *net.TCPConn source is spliced, one chunk at a time when writeback
// requests are on (a *io.LimitedReader around the connection still
// splices).
func (fl *flusher) ReadFrom(r io.Reader) (int64, error) {
	if fl.sync == nil {
		n, err := fl.file.ReadFrom(r)
		fl.pos += n
		return n, err
	}
	var total int64
	lr := &io.LimitedReader{R: r}
	for {
		lr.N = fl.started + fl.chunk - fl.pos
		if lr.N <= 0 {
			lr.N = fl.chunk
		}
		want := lr.N
		n, err := fl.file.ReadFrom(lr)
		total += n
		fl.wrote(n)
		if err != nil || n < want {
			// An error, or the end of r: (*os.File).ReadFrom returns nil
			// at EOF, and less than it was allowed only then.
			return total, err
		}
	}
}

// wrote notes n more bytes written and, once a chunk is complete, starts
// its writeback and waits for the chunk before it.
func (fl *flusher) wrote(n int64) {
	fl.pos += n
	if fl.sync == nil || fl.pos-fl.started < fl.chunk {
		return
	}
	if !fl.sync.startWriteback(fl.file, fl.started, fl.pos-fl.started) {
		fl.sync = nil
		return
	}
	if fl.prev > fl.waited {
		fl.sync.awaitWriteback(fl.file, fl.waited, fl.prev-fl.waited)
		fl.waited = fl.prev
	}
	fl.prev, fl.started = fl.started, fl.pos
}
