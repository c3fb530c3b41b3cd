package quota

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/ferryftp/ferry/storage"
)

// chunk is how many bytes a zero-copy upload reserves at a time. Near the
// limit, bytes reserved by one running upload and not yet written count as
// used for the others.
const chunk = 8 << 20

// Wrap returns fsys with t's quota enforced. The result implements
// Reporter and keeps fsys's optional interfaces (Chmoder, Chtimeser and
// CreateChecker, answering errors.ErrUnsupported where fsys lacks them, as
// storage.Guard does); its upload writers implement storage.Aborter and
// storage.Discarder, and io.ReaderFrom and io.Seeker when fsys's writer
// does, so zero-copy uploads stay zero-copy.
//
// An upload that would cross the byte limit fails with ErrBytesExceeded
// before the crossing byte is written; one that would create a file beyond
// the file limit fails with ErrFilesExceeded before anything is created.
// Overwriting an existing file counts only the difference: the bytes that
// replace the old content are free up to its size.
//
// The usage is not scanned by Wrap: call t.Load (or t.Set) first. Wrapping
// the same fsys with the same t again returns the same value, so a user's
// sessions share one file system (for caches keyed by it).
func Wrap(fsys storage.FS, t *Tracker) storage.FS {
	if t == nil {
		return &quotaFS{fs: fsys, t: NewTracker(Limits{}, nil)}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wrapped != nil && t.wrapped.fs == fsys {
		return t.wrapped
	}
	t.wrapped = &quotaFS{fs: fsys, t: t}
	return t.wrapped
}

type quotaFS struct {
	fs storage.FS
	t  *Tracker
}

// QuotaStatus implements Reporter.
func (q *quotaFS) QuotaStatus() Status { return q.t.Status() }

// CheckAllocate implements Reporter.
func (q *quotaFS) CheckAllocate(n int64) error { return q.t.CheckAllocate(n) }

func (q *quotaFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	return q.fs.Stat(ctx, name)
}

func (q *quotaFS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	return q.fs.ReadDir(ctx, name)
}

func (q *quotaFS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	return q.fs.Open(ctx, name, offset)
}

// state is what a name holds as far as the quota is concerned.
type state struct {
	exists bool
	size   int64
}

func (s state) usage() Usage {
	if !s.exists {
		return Usage{}
	}
	return Usage{Bytes: s.size, Files: 1}
}

// fileState stats name; anything but a regular file counts as nothing.
func (q *quotaFS) fileState(ctx context.Context, name string) state {
	fi, err := q.fs.Stat(ctx, name)
	if err != nil || !fi.Mode().IsRegular() {
		return state{}
	}
	return state{exists: true, size: fi.Size()}
}

// credit is how many bytes of an upload replace old content.
func credit(old state, opts storage.CreateOptions) int64 {
	if !old.exists || opts.Append {
		return 0
	}
	return max(0, old.size-opts.Offset)
}

// precheck refuses an upload that cannot fit at all.
func (q *quotaFS) precheck(old state, opts storage.CreateOptions) error {
	if !old.exists && q.t.filesFull() {
		return ErrFilesExceeded
	}
	if credit(old, opts) == 0 && q.t.full() {
		return ErrBytesExceeded
	}
	return nil
}

// CheckCreate implements storage.CreateChecker: it refuses an upload that
// would create a file beyond the file limit or write to a full quota, then
// asks fsys.
func (q *quotaFS) CheckCreate(ctx context.Context, name string, opts storage.CreateOptions) error {
	if err := q.precheck(q.fileState(ctx, name), opts); err != nil {
		return err
	}
	if c, ok := q.fs.(storage.CreateChecker); ok {
		return c.CheckCreate(ctx, name, opts)
	}
	return errors.ErrUnsupported
}

func (q *quotaFS) Create(ctx context.Context, name string, opts storage.CreateOptions) (io.WriteCloser, error) {
	old := q.fileState(ctx, name)
	if err := q.precheck(old, opts); err != nil {
		return nil, err
	}
	var res Usage
	if !old.exists {
		if !q.t.reserveFile() {
			return nil, ErrFilesExceeded
		}
		res.Files = 1
	}
	// A resume past the end of the visible file (localfs's atomic mode
	// continues a hidden partial, which is not counted) publishes the
	// partial's bytes too: they must fit as well.
	if need := opts.Offset - old.size; !opts.Append && need > 0 && q.t.bytesLimited() {
		if !q.t.reserve(need) {
			q.t.release(res)
			return nil, ErrBytesExceeded
		}
		res.Bytes = need
	}
	wc, err := q.fs.Create(ctx, name, opts)
	if err != nil {
		q.t.release(res)
		return nil, err
	}
	w := &writer{q: q, ctx: context.WithoutCancel(ctx), name: name, wc: wc, cur: old,
		credit: credit(old, opts), res: res}
	rf, okR := wc.(io.ReaderFrom)
	sk, okS := wc.(io.Seeker)
	if okR && okS {
		return &seekWriter{writer: w, rf: rf, sk: sk}, nil
	}
	return w, nil
}

func (q *quotaFS) Remove(ctx context.Context, name string) error {
	old := q.fileState(ctx, name)
	if err := q.fs.Remove(ctx, name); err != nil {
		return err
	}
	q.t.apply(Usage{Bytes: -old.usage().Bytes, Files: -old.usage().Files})
	return nil
}

func (q *quotaFS) Mkdir(ctx context.Context, name string) error { return q.fs.Mkdir(ctx, name) }

func (q *quotaFS) RemoveDir(ctx context.Context, name string) error {
	return q.fs.RemoveDir(ctx, name)
}

// Rename frees the destination's bytes when a file replaces it; a move
// inside the user's file system changes nothing else.
func (q *quotaFS) Rename(ctx context.Context, from, to string) error {
	var replaced state
	if from != to {
		replaced = q.fileState(ctx, to)
	}
	if err := q.fs.Rename(ctx, from, to); err != nil {
		return err
	}
	u := replaced.usage()
	q.t.apply(Usage{Bytes: -u.Bytes, Files: -u.Files})
	return nil
}

// Chmod implements storage.Chmoder.
func (q *quotaFS) Chmod(ctx context.Context, name string, mode fs.FileMode) error {
	c, ok := q.fs.(storage.Chmoder)
	if !ok {
		return errors.ErrUnsupported
	}
	return c.Chmod(ctx, name, mode)
}

// Chtimes implements storage.Chtimeser.
func (q *quotaFS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	c, ok := q.fs.(storage.Chtimeser)
	if !ok {
		return errors.ErrUnsupported
	}
	return c.Chtimes(ctx, name, mtime)
}

// writer counts an upload's bytes against the quota.
type writer struct {
	q    *quotaFS
	ctx  context.Context // not cancelled: the accounting after the end must run
	name string
	wc   io.WriteCloser

	credit int64 // bytes that may still replace old content for free
	held   int64 // bytes reserved in the tracker and not yet written
	res    Usage // reservations to give back at the end (Files)

	mu    sync.Mutex // guards cur and ended
	cur   state      // what name held when last looked at
	ended bool
}

// ensure makes room for n more bytes, reserving what the credit lacks.
func (w *writer) ensure(n int64) bool {
	if !w.q.t.bytesLimited() {
		return true
	}
	need := n - w.credit - w.held
	if need <= 0 {
		return true
	}
	if !w.q.t.reserve(need) {
		return false
	}
	w.held += need
	w.res.Bytes += need
	return true
}

// consume uses n written bytes of credit, then of the reservation.
func (w *writer) consume(n int64) {
	c := min(n, w.credit)
	w.credit -= c
	w.held = max(0, w.held-(n-c))
}

// Write and ReadFrom run on the transfer's goroutine only, before end.
func (w *writer) Write(p []byte) (int, error) {
	if !w.ensure(int64(len(p))) {
		return 0, ErrBytesExceeded
	}
	n, err := w.wc.Write(p)
	w.consume(int64(n))
	return n, err
}

// end runs after Close, Abort or Discard: it gives the reservations back
// and applies what the name holds now against what it held before.
func (w *writer) end(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Stat before giving the reservation back, and give it back in the
	// same step that counts the stored bytes: in between, another upload
	// would see this one's bytes neither reserved nor used (a slow Stat,
	// such as s3fs's HEAD, made that window wide enough to cross the limit).
	now := w.q.fileState(w.ctx, w.name)
	a, b := now.usage(), w.cur.usage()
	w.cur = now
	var res Usage
	if !w.ended {
		w.ended = true
		res = w.res
		w.held = 0
	}
	w.q.t.settle(res, Usage{Bytes: a.Bytes - b.Bytes, Files: a.Files - b.Files})
	return err
}

func (w *writer) Close() error { return w.end(w.wc.Close()) }

// Abort implements storage.Aborter (Close when the backend's writer is not
// an Aborter).
func (w *writer) Abort() error {
	if a, ok := w.wc.(storage.Aborter); ok {
		return w.end(a.Abort())
	}
	return w.Close()
}

// Discard implements storage.Discarder (Abort when the backend's writer
// is not a Discarder, which is what the server would do).
func (w *writer) Discard() error {
	if d, ok := w.wc.(storage.Discarder); ok {
		return w.end(d.Discard())
	}
	return w.Abort()
}

// seekWriter is a writer whose backend takes io.ReaderFrom and io.Seeker
// (localfs's *os.File): ReadFrom hands the backend an io.LimitedReader of
// the bytes reserved, which os.File still splices from a socket.
type seekWriter struct {
	*writer
	rf io.ReaderFrom
	sk io.Seeker
}

func (w *seekWriter) Seek(offset int64, whence int) (int64, error) { return w.sk.Seek(offset, whence) }

func (w *seekWriter) ReadFrom(r io.Reader) (total int64, err error) {
	if !w.q.t.bytesLimited() {
		return w.rf.ReadFrom(r)
	}
	for {
		if w.credit+w.held == 0 {
			g := w.q.t.grant(chunk)
			w.held += g
			w.res.Bytes += g
		}
		allowed := w.credit + w.held
		if allowed == 0 {
			// Out of quota: fine if the client has nothing more to send.
			var b [1]byte
			n, err := io.ReadFull(r, b[:])
			switch {
			case n == 0 && errors.Is(err, io.EOF):
				return total, nil
			case n == 0:
				return total, err
			}
			return total, ErrBytesExceeded
		}
		n, err := w.rf.ReadFrom(&io.LimitedReader{R: r, N: allowed})
		w.consume(n)
		total += n
		if err != nil || n < allowed {
			return total, err
		}
	}
}
