package localfs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

var atomicOpts = localfs.Options{Atomic: true}

// startUpload creates name and writes data without closing.
func startUpload(t *testing.T, f storage.FS, name, data string, opts storage.CreateOptions) io.WriteCloser {
	t.Helper()
	w, err := f.Create(t.Context(), name, opts)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	return w
}

func wantDisk(t *testing.T, dir, name, want string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	switch {
	case want == "-" && !errors.Is(err, fs.ErrNotExist):
		t.Errorf("%s on disk: %q, %v; want no file", name, data, err)
	case want != "-" && (err != nil || string(data) != want):
		t.Errorf("%s on disk: %q, %v; want %q", name, data, err, want)
	}
}

func TestAtomicUploadIsInvisibleUntilClosed(t *testing.T) {
	for _, old := range []string{"-", "old content"} {
		desc := "a new file does not exist"
		if old != "-" {
			desc = "an existing file keeps its old content"
		}
		t.Run(desc+" while the upload runs", func(t *testing.T) {
			f, dir := newFS(t, atomicOpts)
			ctx := t.Context()
			if old != "-" {
				if err := os.WriteFile(filepath.Join(dir, "f"), []byte(old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w := startUpload(t, f, "f", "new content", storage.CreateOptions{})
			got, err := storagetest.ReadFile(ctx, f, "f", 0)
			if old == "-" {
				wantIs(t, err, fs.ErrNotExist)
			} else if string(got) != old {
				t.Errorf("during upload Open read %q, %v; want %q", got, err, old)
			}
			infos, err := f.ReadDir(ctx, ".")
			if err != nil {
				t.Fatal(err)
			}
			for _, fi := range infos {
				if fi.Name() != "f" {
					t.Errorf("listing shows %q during the upload", fi.Name())
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			wantDisk(t, dir, "f", "new content")
			wantDisk(t, dir, ".ferry-part.f", "-")
		})
	}
}

func TestAtomicAbortAndResume(t *testing.T) {
	t.Run("abort leaves nothing under the final name and resume publishes the whole file", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "f", "first part|", storage.CreateOptions{})
		if err := w.(storage.Aborter).Abort(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "-")
		wantDisk(t, dir, ".ferry-part.f", "first part|")
		if err := w.Close(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Close after Abort = %v, want fs.ErrClosed", err)
		}
		w = startUpload(t, f, "f", "second part", storage.CreateOptions{Offset: 11})
		wantDisk(t, dir, "f", "-")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "first part|second part")
		wantDisk(t, dir, ".ferry-part.f", "-")
	})
	t.Run("resume cuts a longer partial file to the offset", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "f", "0123456789", storage.CreateOptions{})
		w.(storage.Aborter).Abort()
		if err := storagetest.WriteFile(t.Context(), f, "f", []byte("xy"), storage.CreateOptions{Offset: 4}); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "0123xy")
	})
	t.Run("resume without a partial file continues a copy of the final file", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644); err != nil {
			t.Fatal(err)
		}
		w := startUpload(t, f, "f", "abc", storage.CreateOptions{Offset: 4})
		wantDisk(t, dir, "f", "0123456789")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "0123abc")
	})
	t.Run("resume beyond both the partial and the final file is invalid", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.WriteFile(filepath.Join(dir, "f"), []byte("0123"), 0o644)
		os.WriteFile(filepath.Join(dir, ".ferry-part.f"), []byte("012345"), 0o644)
		_, err := f.Create(t.Context(), "f", storage.CreateOptions{Offset: 7})
		wantIs(t, err, fs.ErrInvalid)
		wantDisk(t, dir, "f", "0123")
		wantDisk(t, dir, ".ferry-part.f", "012345")
	})
	t.Run("append publishes old and new data only on close", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.WriteFile(filepath.Join(dir, "f"), []byte("old|"), 0o644)
		w := startUpload(t, f, "f", "new", storage.CreateOptions{Append: true})
		wantDisk(t, dir, "f", "old|")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "old|new")
	})
}

func TestAtomicExclusive(t *testing.T) {
	t.Run("a file created during an exclusive upload is not replaced", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "u", "mine", storage.CreateOptions{Exclusive: true})
		if err := os.WriteFile(filepath.Join(dir, "u"), []byte("theirs"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantIs(t, w.Close(), fs.ErrExist)
		wantDisk(t, dir, "u", "theirs")
		wantDisk(t, dir, ".ferry-part.u", "mine")
	})
	t.Run("an exclusive upload publishes a new file and leaves no partial", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		if err := startUpload(t, f, "u", "mine", storage.CreateOptions{Exclusive: true}).Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "u", "mine")
		wantDisk(t, dir, ".ferry-part.u", "-")
	})
	t.Run("a dangling link takes the name of an exclusive upload", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		if err := os.Symlink("nowhere", filepath.Join(dir, "u")); err != nil {
			t.Skip(err)
		}
		_, err := f.Create(t.Context(), "u", storage.CreateOptions{Exclusive: true})
		wantIs(t, err, fs.ErrExist)
	})
}

func TestAtomicUploadsOfOneNameDoNotOverlap(t *testing.T) {
	f, dir := newFS(t, atomicOpts)
	w := startUpload(t, f, "f", "first", storage.CreateOptions{})
	_, err := f.Create(t.Context(), "f", storage.CreateOptions{})
	wantIs(t, err, storage.ErrBusy)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := storagetest.WriteFile(t.Context(), f, "f", []byte("second"), storage.CreateOptions{}); err != nil {
		t.Errorf("upload after the first closed: %v", err)
	}
	wantDisk(t, dir, "f", "second")
}

func TestAtomicReplaceKeepsPermissions(t *testing.T) {
	f, dir := newFS(t, atomicOpts)
	name := filepath.Join(dir, "f")
	os.WriteFile(name, []byte("old"), 0o600)
	os.Chmod(name, 0o600)
	if err := storagetest.WriteFile(t.Context(), f, "f", []byte("new"), storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after replace = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestReservedNames(t *testing.T) {
	t.Run("in atomic mode partial files cannot be reached or made", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		ctx := t.Context()
		os.WriteFile(filepath.Join(dir, ".ferry-part.f"), []byte("partial"), 0o644)
		os.WriteFile(filepath.Join(dir, "g"), []byte("g"), 0o644)
		_, err := f.Stat(ctx, ".ferry-part.f")
		wantIs(t, err, fs.ErrNotExist)
		_, err = f.Open(ctx, ".ferry-part.f", 0)
		wantIs(t, err, fs.ErrNotExist)
		wantIs(t, f.Remove(ctx, ".ferry-part.f"), fs.ErrNotExist)
		wantIs(t, f.Rename(ctx, ".ferry-part.f", "x"), fs.ErrNotExist)
		_, err = f.Create(ctx, ".ferry-part.x", storage.CreateOptions{})
		wantIs(t, err, fs.ErrPermission)
		wantIs(t, f.Mkdir(ctx, ".ferry-part.d"), fs.ErrPermission)
		wantIs(t, f.Rename(ctx, "g", ".ferry-part.g"), fs.ErrPermission)
		wantDisk(t, dir, ".ferry-part.f", "partial")
		wantDisk(t, dir, "g", "g")
	})
	t.Run("in direct mode the prefix is an ordinary name", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{})
		if err := storagetest.WriteFile(t.Context(), f, ".ferry-part.x", []byte("x"), storage.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		infos, err := f.ReadDir(t.Context(), ".")
		if err != nil || len(infos) != 1 {
			t.Errorf("ReadDir = %v, %v; want the file listed", infos, err)
		}
		wantDisk(t, dir, ".ferry-part.x", "x")
	})
}

func TestAtomicRemoveDirWithPartials(t *testing.T) {
	t.Run("a directory holding only aborted partials is removed", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		w := startUpload(t, f, "d/f", "partial", storage.CreateOptions{})
		w.(storage.Aborter).Abort()
		if err := f.RemoveDir(t.Context(), "d"); err != nil {
			t.Fatalf("RemoveDir: %v", err)
		}
		wantDisk(t, dir, "d", "-")
	})
	t.Run("a directory with an upload in progress is not empty", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		w := startUpload(t, f, "d/f", "partial", storage.CreateOptions{})
		defer w.Close()
		wantIs(t, f.RemoveDir(t.Context(), "d"), storage.ErrNotEmpty)
	})
}
