//go:build unix

package localfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

// TestOpenPaths runs the same opens through both ways Open has on Linux
// (one openat2 confined by the kernel, and os.Root) and checks that they
// answer alike: inside links followed, escapes refused, non-regular files
// and loops refused, the description that OpenInfo returns right.
func TestOpenPaths(t *testing.T) {
	for _, way := range []string{"the default open", "os.Root"} {
		f, _ := symlinkTree(t, localfs.Options{})
		if way == "os.Root" {
			localfs.OpenThroughRoot(f)
		}
		root := rootOf(t, f)
		os.Symlink("loop2", filepath.Join(root, "loop1"))
		os.Symlink("loop1", filepath.Join(root, "loop2"))
		if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		for _, tt := range []struct{ name, want string }{
			{"real", "real"}, {"good", "real"}, {"gooddir/f", "realdir/f"}, {"deep/link", "real"}, {"realdir/g.x", "realdir/g.x"},
		} {
			t.Run(way+" reads "+tt.name, func(t *testing.T) {
				got, err := storagetest.ReadFile(ctx, f, tt.name, 0)
				if err != nil || string(got) != tt.want {
					t.Errorf("ReadFile(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
				}
				file, fi, err := f.OpenInfo(ctx, tt.name, 2)
				if err != nil {
					t.Fatal(err)
				}
				defer file.Close()
				if fi.Size() != int64(len(tt.want)) || !fi.Mode().IsRegular() {
					t.Errorf("OpenInfo(%q) describes %v, want a regular file of %d bytes", tt.name, fi, len(tt.want))
				}
				if pos, _ := file.Seek(0, 1); pos != 2 {
					t.Errorf("OpenInfo(%q, 2) positioned at %d", tt.name, pos)
				}
			})
		}
		for _, tt := range []struct {
			name string
			want error
		}{
			{"etc", fs.ErrPermission}, {"passwd", fs.ErrPermission}, {"up", fs.ErrPermission},
			{"updir/secret", fs.ErrPermission}, {"etc/passwd", fs.ErrPermission},
			{"dangling", fs.ErrNotExist}, {"missing", fs.ErrNotExist}, {"real/x", storage.ErrNotDir},
			{"realdir", storage.ErrIsDir}, {"fifo", fs.ErrInvalid}, {"loop1", nil},
		} {
			t.Run(way+" refuses "+tt.name, func(t *testing.T) {
				r, err := f.Open(ctx, tt.name, 0)
				if err == nil {
					r.Close()
					t.Fatalf("Open(%q) succeeded", tt.name)
				}
				if tt.want != nil {
					wantIs(t, err, tt.want)
				}
				if pe, ok := err.(*fs.PathError); !ok || pe.Path != tt.name {
					t.Errorf("error %v: want an *fs.PathError for %q", err, tt.name)
				}
			})
		}
	}
}

// rootOf returns the host directory f serves.
func rootOf(t *testing.T, f *localfs.FS) string {
	t.Helper()
	file, err := f.Open(t.Context(), "real", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	return filepath.Dir(file.(*os.File).Name())
}
