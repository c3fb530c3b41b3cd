package localfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
)

// Upload writer states.
const (
	writing   = iota
	closed    // Close or Abort ran; the data is under the temporary name (atomic) or in place
	published // Close succeeded
	discarded // Discard ran
)

// directWriter writes a direct-mode upload in place. It is a thin wrapper
// on the *os.File: ReadFrom delegates to (*os.File).ReadFrom, so that a
// *net.TCPConn source is still spliced, and Close syncs the file first.
type directWriter struct {
	fs      *FS
	file    *os.File
	name    string
	id      fs.FileInfo // of the open file, to recognise it by name later
	start   int64       // where the upload began writing
	created bool        // the upload created the name

	mu    sync.Mutex
	state int
}

// Write writes p to the file.
func (w *directWriter) Write(p []byte) (int, error) { return w.file.Write(p) }

// ReadFrom copies r to the file through (*os.File).ReadFrom, so that a
// *net.TCPConn source is spliced.
func (w *directWriter) ReadFrom(r io.Reader) (int64, error) { return w.file.ReadFrom(r) }

// Seek moves within the file; Seek(0, io.SeekCurrent) tells how far the
// upload got, which the server uses to watch progress.
func (w *directWriter) Seek(offset int64, whence int) (int64, error) {
	return w.file.Seek(offset, whence)
}

// Close makes the data durable (unless NoSync) and closes the file. A
// failed fsync or close is returned; the file stays as written, for
// Discard to cut back.
func (w *directWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != writing {
		return pathErr("close", w.name, fs.ErrClosed)
	}
	w.state = closed
	var err error
	if !w.fs.opts.NoSync {
		err = w.file.Sync()
	}
	w.remember()
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	if err == nil && w.created && !w.fs.opts.NoSync {
		err = w.fs.syncDir(path.Dir(w.name))
	}
	if err != nil {
		return w.fs.mapErr("close", w.name, err)
	}
	w.state = published
	return nil
}

// Abort closes the file and leaves what was written in place, for a
// resume with REST + STOR or APPE.
func (w *directWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != writing {
		return pathErr("abort", w.name, fs.ErrClosed)
	}
	w.state = closed
	w.remember()
	return w.fs.mapErr("abort", w.name, w.file.Close())
}

// remember notes the file's identity, size and time before it is closed,
// so that Discard can tell it from a file that took its name (and maybe
// its inode number) since.
func (w *directWriter) remember() {
	if fi, err := w.file.Stat(); err == nil {
		w.id = fi
	}
}

// Discard gives back the space the upload took: it removes the file if
// the upload created it, else cuts it back to where the upload began. It
// works after a failed Close too, finding the file by name (and leaving
// it alone if the name now holds another file). After a successful Close
// it does nothing.
func (w *directWriter) Discard() error {
	const op = "discard"
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case published, discarded:
		return nil
	case writing:
		var err error
		if !w.created {
			err = w.file.Truncate(w.start)
		}
		w.remember()
		w.file.Close()
		w.state = discarded
		if err != nil {
			return w.fs.mapErr(op, w.name, err)
		}
		if !w.created {
			return nil
		}
	}
	w.state = discarded
	fi, err := w.fs.root.Lstat(w.name)
	if err != nil || !sameFile(fi, w.id) {
		return nil // gone, or someone else's file now
	}
	if w.created {
		return w.fs.mapErr(op, w.name, w.fs.root.Remove(w.name))
	}
	file, err := w.fs.root.OpenFile(w.name, os.O_WRONLY|oNonblock, 0)
	if err != nil {
		return w.fs.mapErr(op, w.name, err)
	}
	defer file.Close()
	if fi, err := file.Stat(); err != nil || !sameFile(fi, w.id) {
		return nil
	}
	return w.fs.mapErr(op, w.name, file.Truncate(w.start))
}

// atomicWriter writes an atomic upload to its temporary file and publishes
// it on Close.
type atomicWriter struct {
	fs        *FS
	file      *os.File
	name, tmp string
	id        fs.FileInfo // of the temporary file, to recognise it later
	exclusive bool
	perm      fs.FileMode // of the file being replaced, if keepPerm
	keepPerm  bool

	mu    sync.Mutex
	state int
}

// Write writes p to the temporary file.
func (w *atomicWriter) Write(p []byte) (int, error) {
	return w.file.Write(p)
}

// ReadFrom copies r to the temporary file through (*os.File).ReadFrom, so
// that a *net.TCPConn source is spliced.
func (w *atomicWriter) ReadFrom(r io.Reader) (int64, error) {
	return w.file.ReadFrom(r)
}

// Seek moves within the temporary file; Seek(0, io.SeekCurrent) tells how
// much has been written, which the server uses to watch progress on the
// zero-copy path.
func (w *atomicWriter) Seek(offset int64, whence int) (int64, error) {
	return w.file.Seek(offset, whence)
}

// Close makes the temporary file durable (unless NoSync), renames it over
// the final name and syncs the directory. If a step before the rename
// fails, the temporary file stays (for Discard, or a resume); if syncing
// the directory fails, the new file is in place but Close still reports
// the error, since the rename may not survive a crash.
func (w *atomicWriter) Close() error {
	const op = "close"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != writing {
		return pathErr(op, w.name, fs.ErrClosed)
	}
	w.state = closed
	defer w.fs.release(w.tmp)
	var err error
	if w.keepPerm {
		err = w.file.Chmod(w.perm)
	}
	if err == nil && !w.fs.opts.NoSync {
		err = w.file.Sync()
	}
	if fi, serr := w.file.Stat(); serr == nil {
		w.id = fi
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return w.fs.mapErr(op, w.name, err)
	}
	if err := w.fs.publish(w.tmp, w.name, w.exclusive); err != nil {
		return err
	}
	w.state = published
	if !w.fs.opts.NoSync {
		return w.fs.mapErr(op, w.name, w.fs.syncDir(path.Dir(w.name)))
	}
	return nil
}

// Abort closes the temporary file and keeps it, so that a later Create with
// an Offset resumes it. Nothing appears under the final name.
func (w *atomicWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != writing {
		return pathErr("abort", w.name, fs.ErrClosed)
	}
	w.state = closed
	defer w.fs.release(w.tmp)
	if fi, err := w.file.Stat(); err == nil {
		w.id = fi
	}
	return w.fs.mapErr("abort", w.name, w.file.Close())
}

// Discard removes the temporary file; the final name keeps what it held
// before the upload. It works after a failed Close or an Abort too, unless
// another upload of the same name has taken the temporary file since.
// After a successful Close it does nothing.
func (w *atomicWriter) Discard() error {
	const op = "discard"
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.state {
	case published, discarded:
		return nil
	case writing:
		if fi, err := w.file.Stat(); err == nil {
			w.id = fi
		}
		w.file.Close()
	default: // closed: the claim was released; take it again
		if !w.fs.claim(w.tmp) {
			w.state = discarded
			return nil // another upload is using it now
		}
	}
	w.state = discarded
	defer w.fs.release(w.tmp)
	fi, err := w.fs.root.Lstat(w.tmp)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !sameFile(fi, w.id)) {
		return nil
	}
	if err != nil {
		return w.fs.mapErr(op, w.name, err)
	}
	return w.fs.mapErr(op, w.name, w.fs.root.Remove(w.tmp))
}

// sameFile reports whether fi describes the file last seen as id: the
// same inode, size and modification time. The size and time guard against
// an inode number reused by a file created after the upload's was removed.
func sameFile(fi, id fs.FileInfo) bool {
	return os.SameFile(fi, id) && fi.Size() == id.Size() && fi.ModTime().Equal(id.ModTime())
}

// syncDir fsyncs the directory dir, so that a name created or renamed in
// it survives a crash. File systems that cannot sync a directory (EINVAL,
// ENOTSUP) are taken as having nothing to sync.
func (f *FS) syncDir(dir string) error {
	if !canSyncDir {
		return nil
	}
	d, err := f.root.OpenFile(dir, os.O_RDONLY|oDirectory|oNonblock, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	if err != nil && (errors.Is(err, errors.ErrUnsupported) || isEINVAL(err)) {
		return nil
	}
	return err
}
