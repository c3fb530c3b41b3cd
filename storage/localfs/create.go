package localfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/ferryftp/ferry/storage"
)

// Create opens the named regular file for writing as opts describes.
//
// In direct mode it returns a writer on the file itself: opened with
// O_CREATE and O_TRUNC for a plain upload, O_EXCL for Exclusive, and
// positioned at the end for Append or at Offset (after truncating the file
// there) for a resume. A positive Offset larger than the file, or on a
// missing file, yields fs.ErrInvalid and leaves the file alone.
//
// In atomic mode it returns a writer on the temporary file
// ".ferry-part.<base>" that renames the temporary file over name when
// closed:
//   - A plain upload starts a fresh temporary file.
//   - Offset N continues the temporary file left by an aborted upload if it
//     holds at least N bytes (cut to N); otherwise it copies the first N
//     bytes of the existing final file into a fresh temporary file; if
//     neither holds N bytes it yields fs.ErrInvalid.
//   - Append copies the existing final file into a fresh temporary file and
//     writes after it.
//   - Exclusive fails with fs.ErrExist when name exists, and the final step
//     is link(2) then unlink(2), so a file created meanwhile is not replaced
//     (Close then fails with fs.ErrExist and keeps the temporary file). On a
//     file system without hard links it falls back to checking and renaming,
//     which leaves a short race.
//
// An upload replacing an existing file gives the new file the old one's
// permission bits; a symbolic link at name is replaced by the new file, not
// written through (but a link leading out of the root is refused with
// fs.ErrPermission in both modes). Writers of both modes implement
// io.ReaderFrom, io.Seeker, storage.Aborter and storage.Discarder; see the
// package documentation for what Abort, Discard and Close (durability) do.
func (f *FS) Create(ctx context.Context, name string, opts storage.CreateOptions) (io.WriteCloser, error) {
	const op = "create"
	final, err := f.planCreate(ctx, op, name, opts)
	if err != nil {
		return nil, err
	}
	if f.opts.Atomic {
		return f.createAtomic(op, name, opts, final)
	}
	return f.createDirect(op, name, opts, final == nil || opts.Exclusive)
}

// CheckCreate reports the error Create would return for refusals it can
// see without writing: a bad or reserved name, a missing parent, a
// directory or special file in the way, a name taken for Exclusive, a
// resume offset past the data. It changes nothing.
func (f *FS) CheckCreate(ctx context.Context, name string, opts storage.CreateOptions) error {
	const op = "create"
	if _, err := f.planCreate(ctx, op, name, opts); err != nil {
		return err
	}
	dir := path.Dir(name)
	if dir != "." {
		fi, err := f.root.Stat(dir)
		switch {
		case err != nil:
			return f.mapErr(op, name, err)
		case !fi.IsDir():
			return pathErr(op, name, storage.ErrNotDir)
		}
	}
	if opts.Offset > 0 && f.opts.Atomic {
		tmp := path.Join(dir, partPrefix+path.Base(name))
		if pi, err := f.root.Lstat(tmp); err == nil && pi.Mode().IsRegular() && pi.Size() >= opts.Offset {
			return nil
		}
		if fi, err := f.root.Stat(name); err != nil || fi.Size() < opts.Offset {
			return pathErr(op, name, fs.ErrInvalid)
		}
	}
	return nil
}

// planCreate makes the checks that Create and CheckCreate share and returns
// the existing final file, or nil when there is none.
func (f *FS) planCreate(ctx context.Context, op, name string, opts storage.CreateOptions) (fs.FileInfo, error) {
	if err := f.beginCreate(ctx, op, name); err != nil {
		return nil, err
	}
	if opts.Offset < 0 {
		return nil, pathErr(op, name, fs.ErrInvalid)
	}
	final, err := f.root.Stat(name)
	switch {
	case err == nil && final.IsDir():
		return nil, pathErr(op, name, storage.ErrIsDir)
	case err == nil && !final.Mode().IsRegular():
		return nil, pathErr(op, name, fs.ErrInvalid)
	case err == nil && opts.Exclusive:
		return nil, pathErr(op, name, fs.ErrExist)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		final = nil
	default:
		return nil, f.mapErr(op, name, err)
	}
	if opts.Offset > 0 && !f.opts.Atomic && (final == nil || final.Size() < opts.Offset) {
		return nil, pathErr(op, name, fs.ErrInvalid)
	}
	return final, nil
}

// createDirect opens name for a direct upload; created says that the name
// did not exist when Create looked, so that Discard may remove the file.
func (f *FS) createDirect(op, name string, opts storage.CreateOptions, created bool) (io.WriteCloser, error) {
	flag := os.O_WRONLY | oNonblock
	if opts.Offset == 0 {
		flag |= os.O_CREATE
		if !opts.Append {
			flag |= os.O_TRUNC
		}
		if opts.Exclusive {
			flag |= os.O_EXCL
		}
	}
	file, err := f.root.OpenFile(name, flag, f.opts.FileMode)
	if err != nil {
		return nil, f.mapErr(op, name, err)
	}
	if err := f.position(op, name, file, opts); err != nil {
		file.Close()
		return nil, err
	}
	w := &directWriter{fs: f, file: file, name: name, created: created && opts.Offset == 0}
	if w.start, err = file.Seek(0, io.SeekCurrent); err == nil {
		w.id, err = file.Stat()
	}
	if err != nil {
		file.Close()
		return nil, f.mapErr(op, name, err)
	}
	return w, nil
}

// position checks that file is regular and moves it to where opts say
// writing starts: Offset (cutting the file there) or, for Append, the end.
func (f *FS) position(op, name string, file *os.File, opts storage.CreateOptions) error {
	size, err := checkRegular(op, name, file)
	if err != nil {
		return err
	}
	switch {
	case opts.Offset > 0:
		if size < opts.Offset {
			return pathErr(op, name, fs.ErrInvalid)
		}
		if err := file.Truncate(opts.Offset); err != nil {
			return f.mapErr(op, name, err)
		}
		_, err = file.Seek(opts.Offset, io.SeekStart)
	case opts.Append:
		_, err = file.Seek(0, io.SeekEnd)
	}
	return f.mapErr(op, name, err)
}

func (f *FS) createAtomic(op, name string, opts storage.CreateOptions, final fs.FileInfo) (io.WriteCloser, error) {
	if opts.Exclusive {
		// Stat followed links; a dangling link also takes the name.
		if _, err := f.root.Lstat(name); err == nil {
			return nil, pathErr(op, name, fs.ErrExist)
		}
	}
	f.maybeSweep(path.Dir(name))
	tmp := path.Join(path.Dir(name), partPrefix+path.Base(name))
	if !f.claim(tmp) {
		return nil, pathErr(op, name, storage.ErrBusy)
	}
	file, err := f.openPart(op, name, tmp, opts, final)
	if err != nil {
		f.release(tmp)
		return nil, err
	}
	id, err := file.Stat()
	if err != nil {
		file.Close()
		f.release(tmp)
		return nil, f.mapErr(op, name, err)
	}
	w := &atomicWriter{fs: f, file: file, name: name, tmp: tmp, id: id, exclusive: opts.Exclusive}
	if final != nil {
		w.perm, w.keepPerm = final.Mode().Perm(), true
	}
	return w, nil
}

// openPart opens the temporary file tmp for an upload to name, with its
// content and position prepared as opts say.
func (f *FS) openPart(op, name, tmp string, opts storage.CreateOptions, final fs.FileInfo) (*os.File, error) {
	if opts.Offset > 0 {
		// Continue the partial upload if it is a regular file long enough.
		if fi, err := f.root.Lstat(tmp); err == nil && fi.Mode().IsRegular() && fi.Size() >= opts.Offset {
			file, err := f.root.OpenFile(tmp, os.O_WRONLY|oNonblock, 0)
			if err != nil {
				return nil, f.mapErr(op, name, err)
			}
			if err := f.position(op, name, file, opts); err != nil {
				file.Close()
				return nil, err
			}
			return file, nil
		}
		if final == nil || final.Size() < opts.Offset {
			return nil, pathErr(op, name, fs.ErrInvalid)
		}
	}
	file, err := f.freshPart(op, name, tmp)
	if err != nil {
		return nil, err
	}
	if final != nil && (opts.Offset > 0 || opts.Append) {
		err = f.copyFinal(op, name, file, opts.Offset)
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

// freshPart creates tmp anew, so that whatever was there (even a link) is
// gone and the file is a new regular file.
func (f *FS) freshPart(op, name, tmp string) (*os.File, error) {
	if err := f.root.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, f.mapErr(op, name, err)
	}
	file, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNonblock, f.opts.FileMode)
	if err != nil {
		return nil, f.mapErr(op, name, err)
	}
	return file, nil
}

// copyFinal copies the first n bytes of the final file name (all of it if n
// is 0) into dst, with copy_file_range(2) where the system has it.
func (f *FS) copyFinal(op, name string, dst *os.File, n int64) error {
	src, err := f.root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return f.mapErr(op, name, err)
	}
	defer src.Close()
	if _, err := checkRegular(op, name, src); err != nil {
		return err
	}
	if n == 0 {
		_, err = io.Copy(dst, src)
		return f.mapErr(op, name, err)
	}
	copied, err := io.CopyN(dst, src, n)
	if errors.Is(err, io.EOF) || copied < n {
		return pathErr(op, name, fs.ErrInvalid) // the file shrank meanwhile
	}
	return f.mapErr(op, name, err)
}

// claim marks the temporary file tmp as in use and reports whether it was
// free.
func (f *FS) claim(tmp string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.uploads[tmp] {
		return false
	}
	f.uploads[tmp] = true
	return true
}

func (f *FS) release(tmp string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, tmp)
}

// publish moves tmp to name; when exclusive it will not replace a file.
func (f *FS) publish(tmp, name string, exclusive bool) error {
	const op = "rename"
	if !exclusive {
		return f.mapErr(op, name, f.root.Rename(tmp, name))
	}
	err := f.root.Link(tmp, name)
	switch {
	case err == nil:
		if err := f.root.Remove(tmp); err != nil {
			return f.mapErr(op, name, err)
		}
		return nil
	case errors.Is(err, fs.ErrExist):
		return f.mapErr(op, name, err)
	}
	// No hard links here (EPERM, ENOTSUP, ...): check, then rename.
	if _, err := f.root.Lstat(name); err == nil {
		return pathErr(op, name, fs.ErrExist)
	}
	return f.mapErr(op, name, f.root.Rename(tmp, name))
}
