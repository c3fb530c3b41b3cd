// Package localfs is a storage.FS on a local directory tree, confined with
// os.Root: no name and no symbolic link can lead outside the root directory.
// Symbolic links inside the root that point inside it work as usual (Stat,
// Open, ReadDir and Create follow them); a link that would leave the root —
// absolute, or climbing out with ".." — yields an error matching
// fs.ErrPermission.
//
// # Zero copy
//
// Open returns the *os.File itself, so that io.Copy from it to a
// *net.TCPConn uses sendfile(2). Upload writers (both modes) implement
// io.ReaderFrom by delegating to their *os.File, which keeps splice(2) from
// a *net.TCPConn, and io.Seeker, which the server uses to watch progress.
// Append does not use O_APPEND, because Go disables zero copy for files
// opened with it; it seeks to the end instead, so two simultaneous appends
// to one file may overwrite each other.
//
// # Durability
//
// Unless Options.NoSync is set, an upload writer's Close returns nil only
// once the data is on stable storage: it fsyncs the file and, when the
// upload created or replaced a directory entry (any atomic upload, a new
// file in direct mode), the directory. A failed fsync (EIO, ENOSPC, EDQUOT)
// is returned by Close, so the server answers an error instead of 226.
//
// # Upload modes
//
// In direct mode (Options.Atomic false) Create writes the named file in
// place, like any FTP server. In atomic mode it writes a hidden temporary
// file, ".ferry-part.<name>" in the same directory, and renames it over the
// final name when the writer is closed without error; until then, Stat and
// Open of the final name see the previous content or nothing. See Create
// for the details of Offset, Append and Exclusive in atomic mode.
//
// Writers of both modes implement storage.Aborter and storage.Discarder.
// In atomic mode, Abort (a client that went away) closes the temporary file
// and keeps it, so that a later Create with an Offset resumes it; Discard
// (a server-side failure such as a full disk) removes it, also after a
// failed Close, and the final name keeps its old content. In direct mode
// Abort just closes the file, and Discard cuts the file back to where the
// upload began writing (0 for a plain upload, the old end for Append, the
// Offset for a resume) and removes it if the upload created it: the space
// is given back, but what a plain upload truncated is lost, as direct mode
// is not atomic.
//
// In atomic mode the ".ferry-part." prefix is reserved: ReadDir hides such
// entries, every call that looks a reserved name up fails with
// fs.ErrNotExist, and every call that would create one fails with
// fs.ErrPermission. Only one upload to a given name may run at a time in one
// FS; a second one fails with storage.ErrBusy. Partial files left by aborted
// uploads stay until an upload of the same name reuses them, RemoveDir
// empties their directory, or they are older than Options.PartialMaxAge
// when an upload starts in their directory (see Options.PartialMaxAge). No
// goroutine is involved: a directory nobody uploads to again keeps its
// partials, which an administrator may delete with find(1).
//
// # Errors
//
// Errors are *fs.PathError values whose Path is the name given (never a host
// path). Besides the io/fs errors that syscall.Errno already matches, the
// backend maps ENOTEMPTY (and EEXIST from rmdir) to storage.ErrNotEmpty,
// EISDIR to storage.ErrIsDir, ENOTDIR to storage.ErrNotDir, EINVAL to
// fs.ErrInvalid, and os.Root's escape error to fs.ErrPermission. Open and
// Create refuse files that are neither regular files nor directories (FIFOs,
// devices, sockets) with fs.ErrInvalid.
package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/storage"
)

// partPrefix starts the name of an atomic upload's temporary file.
const partPrefix = ".ferry-part."

// Options configure an FS.
type Options struct {
	// Atomic selects atomic uploads (config upload_mode = "atomic"): data is
	// written to a hidden temporary file and renamed into place on success.
	Atomic bool
	// FileMode holds the permission bits of new files, before the umask.
	// Zero means 0644.
	FileMode fs.FileMode
	// DirMode holds the permission bits of new directories, before the
	// umask. Zero means 0755.
	DirMode fs.FileMode
	// NoSync turns durable uploads off (config durable_uploads = false):
	// by default an upload writer's Close returns only once the data is on
	// stable storage (fsync of the file, and of its directory when a name
	// was created or replaced). With NoSync, Close leaves the data in the
	// page cache for the kernel to write back later: a crash or power cut
	// shortly after the server answered 226 can lose the upload.
	NoSync bool
	// PartialMaxAge, in atomic mode, is how long a partial upload left by
	// an aborted transfer (a ".ferry-part." file) is kept for a resume.
	// Older ones are removed when an upload starts in the same directory,
	// at most once per directory per sweep interval (PartialMaxAge/4,
	// between one minute and one hour). Zero keeps partials forever.
	PartialMaxAge time.Duration
}

// FS is a storage.FS on a local directory. Its methods are safe for
// concurrent use.
type FS struct {
	root *os.Root
	opts Options
	// escape is the error os.Root returns for a path that leaves the root;
	// os does not export it, so New learns it by asking for "..".
	escape error
	// rootFile is the root directory once more, for openBeneath (Linux:
	// one openat2 call per Open); rootDir is its descriptor. Both are nil
	// where it is not used.
	rootFile *os.File
	rootDir  syscall.RawConn

	mu      sync.Mutex
	uploads map[string]bool      // temporary names of atomic uploads in progress
	swept   map[string]time.Time // directory -> when its partials were last swept
}

var (
	_ storage.FS        = (*FS)(nil)
	_ storage.Chmoder   = (*FS)(nil)
	_ storage.Chtimeser = (*FS)(nil)
)

// New opens the directory root and returns an FS serving it. The directory
// stays open (and is followed if it is moved) until Close.
func New(root string, opts Options) (*FS, error) {
	if opts.FileMode == 0 {
		opts.FileMode = 0o644
	}
	if opts.DirMode == 0 {
		opts.DirMode = 0o755
	}
	if opts.FileMode&^fs.ModePerm != 0 || opts.DirMode&^fs.ModePerm != 0 {
		return nil, fmt.Errorf("localfs: FileMode %v and DirMode %v must hold permission bits only", opts.FileMode, opts.DirMode)
	}
	if opts.PartialMaxAge < 0 {
		return nil, fmt.Errorf("localfs: PartialMaxAge %v must not be negative", opts.PartialMaxAge)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	f := &FS{root: r, opts: opts, uploads: map[string]bool{}, swept: map[string]time.Time{}}
	if _, err := r.Lstat(".."); err != nil {
		if inner := unwrapOS(err); !isErrno(inner) {
			f.escape = inner
		}
	}
	f.openRootDir()
	return f, nil
}

// Close closes the root directory. Files already open stay usable; every
// later call fails.
func (f *FS) Close() error {
	if f.rootFile != nil {
		f.rootFile.Close()
	}
	return f.root.Close()
}

// Stat describes the named file or directory, following symbolic links.
func (f *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	const op = "stat"
	if err := f.begin(ctx, op, name); err != nil {
		return nil, err
	}
	fi, err := f.root.Stat(name)
	if err != nil {
		return nil, f.mapErr(op, name, err)
	}
	return fi, nil
}

// ReadDir lists a directory sorted by name. Entries are described as Stat
// does, following symbolic links; a link that dangles or leaves the root is
// described as the link itself, so one bad link never fails a listing. In
// atomic mode temporary upload files are left out.
func (f *FS) ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error) {
	const op = "readdir"
	if err := f.begin(ctx, op, name); err != nil {
		return nil, err
	}
	d, err := f.root.OpenFile(name, os.O_RDONLY|oDirectory|oNonblock, 0)
	if err != nil {
		return nil, f.mapErr(op, name, err)
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil {
		return nil, f.mapErr(op, name, err)
	} else if !fi.IsDir() {
		return nil, pathErr(op, name, storage.ErrNotDir)
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, f.mapErr(op, name, err)
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		if f.opts.Atomic && strings.HasPrefix(e.Name(), partPrefix) {
			continue
		}
		var fi fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			fi, _ = f.root.Stat(path.Join(name, e.Name()))
		}
		if fi == nil {
			if fi, err = e.Info(); err != nil {
				continue // removed since it was listed
			}
		}
		infos = append(infos, fi)
	}
	slices.SortFunc(infos, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return infos, nil
}

// Open returns the named regular file as an *os.File positioned at offset.
// A directory yields storage.ErrIsDir and any other non-regular file
// fs.ErrInvalid.
func (f *FS) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	file, _, err := f.OpenInfo(ctx, name, offset)
	if err != nil {
		return nil, err
	}
	return file, nil
}

// OpenInfo is Open that also returns the description of the open file,
// which Open reads anyway to refuse what is not a regular file. The FTP
// server uses it, where the backend has it, to learn a download's size
// without a second fstat(2).
//
// On Linux the file is opened with one openat2(2) call confined to the
// root by the kernel (RESOLVE_BENEATH), instead of os.Root's open of every
// directory on the way; os.Root remains the fallback.
func (f *FS) OpenInfo(ctx context.Context, name string, offset int64) (*os.File, fs.FileInfo, error) {
	const op = "open"
	if err := f.begin(ctx, op, name); err != nil {
		return nil, nil, err
	}
	if offset < 0 {
		return nil, nil, pathErr(op, name, fs.ErrInvalid)
	}
	file, handled, err := f.openBeneath(name)
	if !handled {
		file, err = f.root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	}
	if err != nil {
		return nil, nil, f.mapErr(op, name, err)
	}
	fi, err := regularInfo(op, name, file)
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	// Past the end, the reader is exhausted at once (a seek far beyond any
	// file size would fail with EINVAL instead).
	offset = min(offset, fi.Size())
	if offset > 0 {
		if _, err := file.Seek(offset, io.SeekStart); err != nil {
			file.Close()
			return nil, nil, f.mapErr(op, name, err)
		}
	}
	return file, fi, nil
}

// checkRegular returns file's size, or an error if it is not a regular file.
func checkRegular(op, name string, file *os.File) (int64, error) {
	fi, err := regularInfo(op, name, file)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// regularInfo describes file, or returns an error if it is not a regular
// file.
func regularInfo(op, name string, file *os.File) (fs.FileInfo, error) {
	fi, err := file.Stat()
	switch {
	case err != nil:
		return nil, pathErr(op, name, unwrapOS(err))
	case fi.IsDir():
		return nil, pathErr(op, name, storage.ErrIsDir)
	case !fi.Mode().IsRegular():
		return nil, pathErr(op, name, fs.ErrInvalid)
	}
	return fi, nil
}

// Remove deletes a file or a symbolic link (not its target). A directory
// yields storage.ErrIsDir.
func (f *FS) Remove(ctx context.Context, name string) error {
	const op = "remove"
	if err := f.begin(ctx, op, name); err != nil {
		return err
	}
	// A directory swapped in between Lstat and Remove is removed if it is
	// empty; that is no worse than what the client could do with RMD.
	fi, err := f.root.Lstat(name)
	if err != nil {
		return f.mapErr(op, name, err)
	}
	if fi.IsDir() {
		return pathErr(op, name, storage.ErrIsDir)
	}
	return f.mapErr(op, name, f.root.Remove(name))
}

// Mkdir creates one directory with Options.DirMode; its parent must exist.
func (f *FS) Mkdir(ctx context.Context, name string) error {
	const op = "mkdir"
	if err := f.beginCreate(ctx, op, name); err != nil {
		return err
	}
	return f.mapErr(op, name, f.root.Mkdir(name, f.opts.DirMode))
}

// RemoveDir deletes an empty directory. A directory with entries yields
// storage.ErrNotEmpty, anything else storage.ErrNotDir, and the root
// fs.ErrPermission. In atomic mode, a directory whose only entries are
// partial uploads (not in progress) counts as empty: they are deleted too.
func (f *FS) RemoveDir(ctx context.Context, name string) error {
	const op = "rmdir"
	if err := f.begin(ctx, op, name); err != nil {
		return err
	}
	if name == "." {
		return pathErr(op, name, fs.ErrPermission)
	}
	fi, err := f.root.Lstat(name)
	if err != nil {
		return f.mapErr(op, name, err)
	}
	if !fi.IsDir() {
		return pathErr(op, name, storage.ErrNotDir)
	}
	err = f.mapErr(op, name, f.root.Remove(name))
	if f.opts.Atomic && errors.Is(err, storage.ErrNotEmpty) && f.removeParts(name) {
		err = f.mapErr(op, name, f.root.Remove(name))
	}
	return err
}

// removeParts deletes the partial uploads in dir if they are all it holds
// and none is in progress, and reports whether it did.
func (f *FS) removeParts(dir string) bool {
	d, err := f.root.OpenFile(dir, os.O_RDONLY|oDirectory|oNonblock, 0)
	if err != nil {
		return false
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), partPrefix) || !e.Type().IsRegular() || f.uploads[path.Join(dir, e.Name())] {
			return false
		}
	}
	for _, e := range entries {
		if err := f.root.Remove(path.Join(dir, e.Name())); err != nil {
			return false
		}
	}
	return true
}

// Rename moves a file or directory as os.Rename does: an existing file
// destination is replaced by a file; an existing directory destination
// yields fs.ErrExist, and a file destination for a directory
// storage.ErrNotDir. Moving the root yields fs.ErrPermission, moving a
// directory into itself fs.ErrInvalid. A symbolic link is moved, not its
// target.
func (f *FS) Rename(ctx context.Context, from, to string) error {
	const op = "rename"
	if err := f.begin(ctx, op, from); err != nil {
		return err
	}
	if err := f.beginCreate(ctx, op, to); err != nil {
		return err
	}
	if from == "." || to == "." {
		return pathErr(op, from, fs.ErrPermission)
	}
	if err := f.root.Rename(from, to); err != nil {
		// Report the name the failure is about where the error says so.
		name := from
		if _, err := f.root.Lstat(from); err == nil {
			name = to
		}
		return f.mapErr(op, name, err)
	}
	return nil
}

// Chmod sets the permission bits of a file or directory, following
// symbolic links. Bits outside 0777 yield fs.ErrInvalid.
func (f *FS) Chmod(ctx context.Context, name string, mode fs.FileMode) error {
	const op = "chmod"
	if err := f.begin(ctx, op, name); err != nil {
		return err
	}
	if mode&^fs.ModePerm != 0 {
		return pathErr(op, name, fs.ErrInvalid)
	}
	return f.mapErr(op, name, f.root.Chmod(name, mode))
}

// Chtimes sets the modification time of a file or directory, following
// symbolic links; the access time is left alone.
func (f *FS) Chtimes(ctx context.Context, name string, mtime time.Time) error {
	const op = "chtimes"
	if err := f.begin(ctx, op, name); err != nil {
		return err
	}
	return f.mapErr(op, name, f.root.Chtimes(name, time.Time{}, mtime))
}

// begin checks ctx and name for an op that looks name up: in atomic mode a
// reserved name does not exist.
func (f *FS) begin(ctx context.Context, op, name string) error {
	return f.check(ctx, op, name, fs.ErrNotExist)
}

// beginCreate checks ctx and name for an op that creates name: in atomic
// mode a reserved name may not be created.
func (f *FS) beginCreate(ctx context.Context, op, name string) error {
	return f.check(ctx, op, name, fs.ErrPermission)
}

func (f *FS) check(ctx context.Context, op, name string, reservedErr error) error {
	if err := ctx.Err(); err != nil {
		return pathErr(op, name, err)
	}
	if err := storage.CheckName(op, name); err != nil {
		return err
	}
	if f.reserved(name) {
		return pathErr(op, name, reservedErr)
	}
	return nil
}

// reserved reports whether, in atomic mode, an element of name is reserved
// for temporary upload files.
func (f *FS) reserved(name string) bool {
	if !f.opts.Atomic || !strings.Contains(name, partPrefix) {
		return false
	}
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, partPrefix) {
			return true
		}
	}
	return false
}
