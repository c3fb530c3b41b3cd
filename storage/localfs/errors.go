package localfs

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/ferryftp/ferry/storage"
)

// errEscapes replaces os.Root's error for a name or link that leaves the
// root; it matches fs.ErrPermission.
var errEscapes error = escapeError{}

type escapeError struct{}

func (escapeError) Error() string { return "path escapes from root" }

// Is makes errEscapes match fs.ErrPermission.
func (escapeError) Is(target error) bool { return target == fs.ErrPermission }

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// mapErr turns an error from os into an *fs.PathError for op and name whose
// Err matches the io/fs error or storage sentinel that describes it.
func (f *FS) mapErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	inner := unwrapOS(err)
	switch {
	case f.escape != nil && errors.Is(inner, f.escape):
		inner = errEscapes
	case inner == syscall.ENOTEMPTY || inner == syscall.EEXIST && op == "rmdir":
		inner = storage.ErrNotEmpty
	case inner == syscall.EISDIR:
		inner = storage.ErrIsDir
	case inner == syscall.ENOTDIR:
		inner = storage.ErrNotDir
	case inner == syscall.EINVAL:
		inner = fs.ErrInvalid
	}
	return pathErr(op, name, inner)
}

// unwrapOS strips the *fs.PathError, *os.LinkError and *os.SyscallError
// layers that os adds, leaving the cause.
func unwrapOS(err error) error {
	for {
		switch e := err.(type) {
		case *fs.PathError:
			err = e.Err
		case *os.LinkError:
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		default:
			return err
		}
	}
}

func isErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}

// isEINVAL reports whether err is EINVAL.
func isEINVAL(err error) bool {
	return errors.Is(err, syscall.EINVAL)
}
