package memfs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.FS { return memfs.New() })
}

func TestHelpers(t *testing.T) {
	t.Run("MkdirAll, WriteFile and ReadFile round-trip", func(t *testing.T) {
		f := memfs.New()
		if err := f.MkdirAll("a/b/c"); err != nil {
			t.Fatal(err)
		}
		if err := f.MkdirAll("a/b"); err != nil {
			t.Errorf("MkdirAll of an existing directory: %v", err)
		}
		if err := f.WriteFile("a/b/c/f", []byte("data")); err != nil {
			t.Fatal(err)
		}
		got, err := f.ReadFile("a/b/c/f")
		if err != nil || string(got) != "data" {
			t.Errorf("ReadFile = %q, %v; want %q", got, err, "data")
		}
	})
	t.Run("MkdirAll through a file is not a directory", func(t *testing.T) {
		f := memfs.New()
		if err := f.WriteFile("f", nil); err != nil {
			t.Fatal(err)
		}
		if err := f.MkdirAll("f/sub"); !errors.Is(err, storage.ErrNotDir) {
			t.Errorf("MkdirAll(f/sub) = %v, want storage.ErrNotDir", err)
		}
	})
	t.Run("WriteFile copies its argument", func(t *testing.T) {
		f := memfs.New()
		data := []byte("abc")
		if err := f.WriteFile("f", data); err != nil {
			t.Fatal(err)
		}
		data[0] = 'X'
		if got, _ := f.ReadFile("f"); string(got) != "abc" {
			t.Errorf("ReadFile = %q after changing the argument, want %q", got, "abc")
		}
	})
	t.Run("ReadFile of a missing file does not exist", func(t *testing.T) {
		if _, err := memfs.New().ReadFile("nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestUploadVisibility(t *testing.T) {
	t.Run("an existing file keeps its content until the upload closes", func(t *testing.T) {
		f := memfs.New()
		ctx := t.Context()
		if err := f.WriteFile("f", []byte("old")); err != nil {
			t.Fatal(err)
		}
		w, err := f.Create(ctx, "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "new content")
		if got, _ := f.ReadFile("f"); string(got) != "old" {
			t.Errorf("during upload ReadFile = %q, want %q", got, "old")
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.ReadFile("f"); string(got) != "new content" {
			t.Errorf("after upload ReadFile = %q, want %q", got, "new content")
		}
	})
	t.Run("a reader keeps the content it opened while a new upload closes", func(t *testing.T) {
		f := memfs.New()
		ctx := t.Context()
		if err := f.WriteFile("f", []byte("old")); err != nil {
			t.Fatal(err)
		}
		r, err := f.Open(ctx, "f", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := storagetest.WriteFile(ctx, f, "f", []byte("new"), storage.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if !bytes.Equal(got, []byte("old")) {
			t.Errorf("reader read %q, want %q", got, "old")
		}
	})
	t.Run("abort publishes what was written", func(t *testing.T) {
		f := memfs.New()
		w, err := f.Create(t.Context(), "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "partial")
		if err := w.(storage.Aborter).Abort(); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.ReadFile("f"); string(got) != "partial" {
			t.Errorf("ReadFile = %q, want %q", got, "partial")
		}
		if _, err := io.WriteString(w, "more"); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Write after Abort = %v, want fs.ErrClosed", err)
		}
		if err := w.Close(); !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Close after Abort = %v, want fs.ErrClosed", err)
		}
	})
}
