package storage

import (
	"io/fs"
	"strings"
)

// ValidName reports whether name is a valid backend name: it satisfies
// fs.ValidPath ("." for the root, slash-separated, no leading or trailing
// slash, no empty, "." or ".." element) and holds no NUL byte.
func ValidName(name string) bool {
	return fs.ValidPath(name) && !strings.ContainsRune(name, 0)
}

// CheckName returns nil when ValidName(name) holds and otherwise an
// *fs.PathError for op and name that wraps fs.ErrInvalid.
func CheckName(op, name string) error {
	if ValidName(name) {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
}
