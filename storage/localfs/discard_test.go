package localfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
)

func discard(t *testing.T, w any) {
	t.Helper()
	d, ok := w.(storage.Discarder)
	if !ok {
		t.Fatalf("%T is not a storage.Discarder", w)
	}
	if err := d.Discard(); err != nil {
		t.Fatalf("Discard: %v", err)
	}
}

func TestAtomicDiscard(t *testing.T) {
	t.Run("Discard removes the partial and keeps the old file", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o644)
		w := startUpload(t, f, "f", "new data", storage.CreateOptions{})
		discard(t, w)
		wantDisk(t, dir, "f", "old")
		wantDisk(t, dir, ".ferry-part.f", "-")
		// The name is free again.
		if err := startUpload(t, f, "f", "again", storage.CreateOptions{}).Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "again")
	})
	t.Run("Discard after a failed Close removes the partial", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "u", "mine", storage.CreateOptions{Exclusive: true})
		os.WriteFile(filepath.Join(dir, "u"), []byte("theirs"), 0o644)
		wantIs(t, w.Close(), fs.ErrExist)
		wantDisk(t, dir, ".ferry-part.u", "mine")
		discard(t, w)
		wantDisk(t, dir, ".ferry-part.u", "-")
		wantDisk(t, dir, "u", "theirs")
	})
	t.Run("Discard after a successful Close changes nothing", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "f", "done", storage.CreateOptions{})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		discard(t, w)
		wantDisk(t, dir, "f", "done")
	})
	t.Run("Discard after Abort leaves another upload's partial alone", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "f", "first", storage.CreateOptions{})
		if err := w.(storage.Aborter).Abort(); err != nil {
			t.Fatal(err)
		}
		other := startUpload(t, f, "f", "second", storage.CreateOptions{})
		discard(t, w) // the partial is in use by other: kept
		if err := other.Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "second")
	})
	t.Run("a resumed upload that is discarded loses the partial", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		w := startUpload(t, f, "f", "012345", storage.CreateOptions{})
		w.(storage.Aborter).Abort()
		w = startUpload(t, f, "f", "6789", storage.CreateOptions{Offset: 6})
		discard(t, w)
		wantDisk(t, dir, ".ferry-part.f", "-")
		wantDisk(t, dir, "f", "-")
	})
}

func TestDirectDiscard(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		old      string // "-": no file before
		opts     storage.CreateOptions
		wantDisk string
	}{
		{"a new file is removed", "-", storage.CreateOptions{}, "-"},
		{"a new exclusive file is removed", "-", storage.CreateOptions{Exclusive: true}, "-"},
		{"a replaced file is left empty (direct mode truncated it)", "old", storage.CreateOptions{}, ""},
		{"an append is cut back to the old end", "old", storage.CreateOptions{Append: true}, "old"},
		{"an append to a new file is removed", "-", storage.CreateOptions{Append: true}, "-"},
		{"a resume is cut back to its offset", "0123456", storage.CreateOptions{Offset: 4}, "0123"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			for _, afterClose := range []bool{false, true} {
				f, dir := newFS(t, localfs.Options{})
				if tc.old != "-" {
					os.WriteFile(filepath.Join(dir, "f"), []byte(tc.old), 0o644)
				}
				w := startUpload(t, f, "f", "uploaded", tc.opts)
				if afterClose {
					// The server discards after a failed Close; Discard
					// must then find the file by name.
					w.(storage.Aborter).Abort()
				}
				discard(t, w)
				wantDisk(t, dir, "f", tc.wantDisk)
			}
		})
	}
	t.Run("Discard after a successful Close changes nothing", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{})
		w := startUpload(t, f, "f", "done", storage.CreateOptions{})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		discard(t, w)
		wantDisk(t, dir, "f", "done")
	})
	t.Run("Discard leaves a file that replaced the upload's alone", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{})
		w := startUpload(t, f, "f", "mine", storage.CreateOptions{})
		w.(storage.Aborter).Abort()
		os.Remove(filepath.Join(dir, "f"))
		os.WriteFile(filepath.Join(dir, "f"), []byte("theirs"), 0o644)
		discard(t, w)
		wantDisk(t, dir, "f", "theirs")
	})
}

func TestDurableAndNoSyncUploads(t *testing.T) {
	// fsync itself cannot be observed here (the disk-full test in
	// ftpserver and the benchmarks see its effects); this checks that both
	// settings publish the same bytes in both modes.
	for _, mode := range bothModes {
		for _, noSync := range []bool{false, true} {
			opts := mode.opts
			opts.NoSync = noSync
			f, dir := newFS(t, opts)
			os.Mkdir(filepath.Join(dir, "d"), 0o755)
			for _, name := range []string{"f", "d/g"} {
				if err := startUpload(t, f, name, "data", storage.CreateOptions{}).Close(); err != nil {
					t.Fatalf("%s NoSync=%v: Close: %v", mode.desc, noSync, err)
				}
				wantDisk(t, dir, name, "data")
			}
		}
	}
}

func TestPartialSweep(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	t.Run("an upload sweeps the old partials of its directory and keeps fresh ones", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{Atomic: true, PartialMaxAge: 24 * time.Hour})
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		for _, n := range []string{".ferry-part.old", ".ferry-part.fresh", "d/.ferry-part.elsewhere"} {
			os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644)
		}
		os.Chtimes(filepath.Join(dir, ".ferry-part.old"), old, old)
		os.Chtimes(filepath.Join(dir, "d/.ferry-part.elsewhere"), old, old)
		if err := startUpload(t, f, "new", "x", storage.CreateOptions{}).Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, ".ferry-part.old", "-")
		wantDisk(t, dir, ".ferry-part.fresh", "partial")
		wantDisk(t, dir, "d/.ferry-part.elsewhere", "partial") // another directory
	})
	t.Run("a directory is swept at most once per interval", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{Atomic: true, PartialMaxAge: 24 * time.Hour})
		startUpload(t, f, "a", "x", storage.CreateOptions{}).Close()
		os.WriteFile(filepath.Join(dir, ".ferry-part.old"), []byte("partial"), 0o644)
		os.Chtimes(filepath.Join(dir, ".ferry-part.old"), old, old)
		startUpload(t, f, "b", "x", storage.CreateOptions{}).Close()
		wantDisk(t, dir, ".ferry-part.old", "partial")
	})
	t.Run("a partial in use is not swept", func(t *testing.T) {
		f, dir := newFS(t, localfs.Options{Atomic: true, PartialMaxAge: time.Hour})
		w := startUpload(t, f, "busy", "x", storage.CreateOptions{})
		os.Chtimes(filepath.Join(dir, ".ferry-part.busy"), old, old)
		os.Mkdir(filepath.Join(dir, "d"), 0o755)
		startUpload(t, f, "other", "y", storage.CreateOptions{}).Close()
		wantDisk(t, dir, ".ferry-part.busy", "x")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "busy", "x")
	})
	t.Run("an old partial can still be resumed when sweeping is off", func(t *testing.T) {
		f, dir := newFS(t, atomicOpts)
		os.WriteFile(filepath.Join(dir, ".ferry-part.f"), []byte("0123"), 0o644)
		os.Chtimes(filepath.Join(dir, ".ferry-part.f"), old, old)
		if err := startUpload(t, f, "g", "x", storage.CreateOptions{}).Close(); err != nil {
			t.Fatal(err)
		}
		if err := startUpload(t, f, "f", "45", storage.CreateOptions{Offset: 4}).Close(); err != nil {
			t.Fatal(err)
		}
		wantDisk(t, dir, "f", "012345")
	})
	t.Run("a negative age is refused", func(t *testing.T) {
		if _, err := localfs.New(t.TempDir(), localfs.Options{PartialMaxAge: -time.Second}); err == nil {
			t.Error("New succeeded")
		}
	})
}
