// Package storage defines the file-system interface that ferry's FTP server
// serves from. Backends (localfs, memfs, s3fs) implement FS; optional
// capabilities are extra interfaces checked with a type assertion. A backend
// (or a wrapper such as Guard) may also implement an optional interface and
// answer errors.ErrUnsupported: the server treats that as the interface
// being absent.
//
// Names are slash-separated paths relative to the backend's root, in the form
// accepted by io/fs.ValidPath: "." is the root, there is no leading or trailing
// slash and no "." or ".." element. The server cleans and confines every client
// path before it reaches a backend; backends still reject invalid names with
// fs.ErrInvalid and must never let a name (or a symlink) lead outside the root.
//
// Errors: backends return errors that match fs.ErrNotExist, fs.ErrExist,
// fs.ErrPermission or fs.ErrInvalid with errors.Is where one applies, or an
// *ftp.Error for a reply the backend wants to choose itself. Anything else is
// reported to the client as a generic local error; its text is logged, never
// sent.
package storage

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// FS is a hierarchical file store. Every call takes a context; a backend that
// does network I/O must honour its cancellation.
type FS interface {
	// Stat describes the named file or directory.
	Stat(ctx context.Context, name string) (fs.FileInfo, error)
	// ReadDir lists a directory, sorted by name.
	ReadDir(ctx context.Context, name string) ([]fs.FileInfo, error)
	// Open opens a regular file for reading starting at offset (0 <= offset).
	// An offset past the end yields an immediately exhausted reader.
	Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error)
	// Create opens a regular file for writing as opts describes. Data becomes
	// final when the writer is closed without error; a backend that can
	// makes it durable (on stable storage) before Close returns, and
	// reports a failure to do so as Close's error. If the writer also
	// implements Aborter, the server calls Abort instead of Close when a
	// transfer fails.
	Create(ctx context.Context, name string, opts CreateOptions) (io.WriteCloser, error)
	// Remove deletes a regular file (or symlink); it fails on directories.
	Remove(ctx context.Context, name string) error
	// Mkdir creates one directory; its parent must exist.
	Mkdir(ctx context.Context, name string) error
	// RemoveDir deletes an empty directory.
	RemoveDir(ctx context.Context, name string) error
	// Rename moves a file or directory. The destination's parent must exist;
	// an existing destination file is replaced.
	Rename(ctx context.Context, from, to string) error
}

// CreateOptions say how Create opens a file.
type CreateOptions struct {
	// Offset, when positive, keeps the first Offset bytes of the existing
	// file and writes after them (REST + STOR). It is an error (fs.ErrInvalid)
	// when the existing data is shorter than Offset.
	Offset int64
	// Append writes after the existing data, creating the file if needed (APPE).
	Append bool
	// Exclusive fails with fs.ErrExist when the name exists (STOU).
	Exclusive bool
}

// Aborter is implemented by upload writers that can end an upload without
// publishing it as complete. For an atomic local upload, Abort keeps the
// partial data under its hidden temporary name, so REST + STOR can resume it.
type Aborter interface {
	Abort() error
}

// CreateChecker is implemented by backends that can tell, without changing
// anything, whether Create with the same arguments would be refused (a bad
// name, a directory in the way, a REST offset past the data, a link leading
// out of the root). The server asks before it answers an upload with 150,
// so the client learns of the refusal at once; it creates the file only when
// the data connection is up, and Create still checks everything itself.
type CreateChecker interface {
	CheckCreate(ctx context.Context, name string, opts CreateOptions) error
}

// Discarder is implemented by upload writers that can end an upload and
// remove everything it wrote. The server calls Discard instead of Abort when
// an upload fails on the server's side (disk full, quota, a backend error):
// such a partial file cannot be resumed usefully and would only hold the
// space. An upload that the client broke off is ended with Abort, so that
// REST + STOR can resume it. Discard must also work after a Close that
// failed (the server then discards what could not be published), and do
// nothing after a Close that succeeded.
type Discarder interface {
	Discard() error
}

// Chmoder is implemented by backends that support SITE CHMOD.
// Chmod may return errors.ErrUnsupported (then SITE CHMOD gets 502).
type Chmoder interface {
	Chmod(ctx context.Context, name string, mode fs.FileMode) error
}

// Chtimeser is implemented by backends that can set a modification time
// (MFMT). Chtimes may return errors.ErrUnsupported (then MFMT gets 502).
type Chtimeser interface {
	Chtimes(ctx context.Context, name string, mtime time.Time) error
}

// HealthChecker is implemented by backends whose root can be there while
// the service behind it is not (S3: the root is a prefix, never a
// request). CheckHealth asks the service itself; readiness checks call it
// instead of Stat(".").
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}
