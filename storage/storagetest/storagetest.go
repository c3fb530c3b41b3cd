// Package storagetest is the conformance suite for storage.FS backends.
//
// Every backend's tests call Run with a constructor of fresh, empty file
// systems. The suite uses only the storage.FS interface to set up and check
// state, so it fits object stores as well as local disks; optional
// interfaces (storage.Chmoder, storage.Chtimeser, storage.Aborter,
// storage.Discarder, storage.CreateChecker) are
// exercised only when a backend implements them, and symbolic links are left
// to backend-specific tests.
//
// Behaviour the suite pins down beyond storage's doc comments:
//   - Open and Create of a directory fail with storage.ErrIsDir; ReadDir and
//     RemoveDir of a file fail with storage.ErrNotDir; RemoveDir of a
//     directory with entries fails with storage.ErrNotEmpty; RemoveDir of the
//     root fails with fs.ErrPermission.
//   - A negative Open offset, a Create Offset beyond the existing data
//     (including any positive Offset for a missing file), a Chmod mode with
//     bits outside 0777 and moving a directory into itself fail with
//     fs.ErrInvalid.
//   - Rename replaces an existing file only: onto an existing directory it
//     fails with fs.ErrExist, and a directory onto a file fails with
//     storage.ErrNotDir.
//   - CheckCreate changes nothing and refuses what Create refuses, with
//     the same error.
//   - Discard leaves no trace of the upload: a new name does not exist, an
//     existing file keeps its old content (with Options.InPlaceUploads, it
//     is cut back to where the upload began writing), the name can be
//     uploaded again at once, and a resume point the upload continued is
//     gone.
//   - A name that fails storage.ValidName fails with fs.ErrInvalid, and a
//     cancelled context fails every call with an error matching ctx.Err().
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/storage"
)

// Run runs the conformance suite with the default Options. newFS must
// return a new, empty file system for each call; it may register cleanups
// with t.
func Run(t *testing.T, newFS func(t *testing.T) storage.FS) {
	t.Helper()
	RunWith(t, newFS, Options{})
}

// RunWith runs the conformance suite for a backend with the upload
// semantics o describes.
func RunWith(t *testing.T, newFS func(t *testing.T) storage.FS, o Options) {
	t.Helper()
	t.Run("Stat", func(t *testing.T) { testStat(t, newFS) })
	t.Run("ReadDir", func(t *testing.T) { testReadDir(t, newFS) })
	t.Run("Open", func(t *testing.T) { testOpen(t, newFS) })
	t.Run("Create", func(t *testing.T) { testCreate(t, newFS) })
	t.Run("Resume", func(t *testing.T) { testResume(t, newFS) })
	t.Run("CheckCreate", func(t *testing.T) { testCheckCreate(t, newFS) })
	t.Run("Discard", func(t *testing.T) { testDiscard(t, newFS, o) })
	t.Run("Remove", func(t *testing.T) { testRemove(t, newFS) })
	t.Run("Mkdir", func(t *testing.T) { testMkdir(t, newFS) })
	t.Run("RemoveDir", func(t *testing.T) { testRemoveDir(t, newFS) })
	t.Run("Rename", func(t *testing.T) { testRename(t, newFS) })
	t.Run("Chmod", func(t *testing.T) { testChmod(t, newFS) })
	t.Run("Chtimes", func(t *testing.T) { testChtimes(t, newFS) })
	t.Run("InvalidNames", func(t *testing.T) { testInvalidNames(t, newFS) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelled(t, newFS) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newFS) })
}

// WriteFile creates (or truncates) name in fsys and writes data to it. It is
// exported for backend-specific tests.
func WriteFile(ctx context.Context, fsys storage.FS, name string, data []byte, opts storage.CreateOptions) error {
	w, err := fsys.Create(ctx, name, opts)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		if a, ok := w.(storage.Aborter); ok {
			a.Abort()
		} else {
			w.Close()
		}
		return err
	}
	return w.Close()
}

// ReadFile returns the content of name in fsys from offset on. It is
// exported for backend-specific tests.
func ReadFile(ctx context.Context, fsys storage.FS, name string, offset int64) ([]byte, error) {
	r, err := fsys.Open(ctx, name, offset)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// tree is a test fixture: directories end in "/", everything else is a file
// whose content is its name.
type tree []string

func build(t *testing.T, fsys storage.FS, entries tree) {
	t.Helper()
	ctx := t.Context()
	for _, e := range entries {
		if name, ok := cutSlash(e); ok {
			if err := fsys.Mkdir(ctx, name); err != nil {
				t.Fatalf("Mkdir(%q): %v", name, err)
			}
			continue
		}
		if err := WriteFile(ctx, fsys, e, []byte(e), storage.CreateOptions{}); err != nil {
			t.Fatalf("writing %q: %v", e, err)
		}
	}
}

func cutSlash(s string) (string, bool) {
	if n := len(s); n > 0 && s[n-1] == '/' {
		return s[:n-1], true
	}
	return s, false
}

// setup returns a fresh file system holding entries.
func setup(t *testing.T, newFS func(t *testing.T) storage.FS, entries tree) storage.FS {
	t.Helper()
	fsys := newFS(t)
	build(t, fsys, entries)
	return fsys
}

func mustRead(t *testing.T, fsys storage.FS, name string) string {
	t.Helper()
	data, err := ReadFile(t.Context(), fsys, name, 0)
	if err != nil {
		t.Fatalf("reading %q: %v", name, err)
	}
	return string(data)
}

func wantContent(t *testing.T, fsys storage.FS, name, want string) {
	t.Helper()
	if got := mustRead(t, fsys, name); got != want {
		t.Errorf("content of %q = %q, want %q", name, got, want)
	}
}

func wantNotExist(t *testing.T, fsys storage.FS, name string) {
	t.Helper()
	if _, err := fsys.Stat(t.Context(), name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%q) = %v, want fs.ErrNotExist", name, err)
	}
}

// wantErr reports unless err matches target (or is nil when target is nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s = %v, want an error matching %v", what, err, target)
	}
}
