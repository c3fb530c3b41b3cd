package storage

import "io/fs"

// Sentinel errors that backends wrap (usually in an *fs.PathError) when no
// fs.ErrXxx value says enough on its own. Each one also matches the closest
// io/fs error with errors.Is, so a caller that only knows the io/fs errors
// still classifies it sensibly; a caller that wants the detail tests for the
// sentinel first.
var (
	// ErrNotEmpty reports a directory that cannot be removed, or replaced by
	// a rename, because it has entries. It matches fs.ErrExist, as
	// syscall.ENOTEMPTY does.
	ErrNotEmpty error = &kindError{"directory not empty", fs.ErrExist}

	// ErrIsDir reports a directory where a regular file is needed (Open,
	// Create, Remove, renaming a file over a directory). It matches
	// fs.ErrInvalid.
	ErrIsDir error = &kindError{"is a directory", fs.ErrInvalid}

	// ErrNotDir reports a non-directory where a directory is needed (ReadDir,
	// RemoveDir, a file used as a path element, renaming a directory over a
	// file). It matches fs.ErrInvalid.
	ErrNotDir error = &kindError{"not a directory", fs.ErrInvalid}

	// ErrBusy reports a file that another upload is writing at the moment
	// (FTP reply 450). It matches no io/fs error.
	ErrBusy error = &kindError{"file busy", nil}
)

// kindError is a sentinel error that also matches a more general error.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }

// Is reports whether target is the general error e belongs to.
func (e *kindError) Is(target error) bool { return e.kind != nil && target == e.kind }
