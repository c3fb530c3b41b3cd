//go:build unix

package localfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/storagetest"
)

// symlinkTree builds, under a fresh directory, "outside/secret" and a root
// holding regular files, directories and links that stay inside or escape.
// It returns the FS on the root and the outside directory.
func symlinkTree(t *testing.T, opts localfs.Options) (*localfs.FS, string) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "realdir"), filepath.Join(root, "deep")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(outside, "secret"):      "secret",
		filepath.Join(root, "real"):           "real",
		filepath.Join(root, "realdir", "f"):   "realdir/f",
		filepath.Join(root, "realdir", "g.x"): "realdir/g.x",
	}
	for name, data := range files {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"etc":       "/etc",
		"passwd":    "/etc/passwd",
		"up":        "../outside/secret",
		"updir":     "../outside",
		"good":      "real",
		"gooddir":   "realdir",
		"deep/link": "../real",
		"dangling":  "nothing",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := localfs.New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, outside
}

func TestSymlinksInsideTheRootWork(t *testing.T) {
	for _, mode := range bothModes {
		f, _ := symlinkTree(t, mode.opts)
		tests := []struct {
			desc, name, want string
		}{
			{"a link to a file reads the file " + mode.desc, "good", "real"},
			{"a file through a directory link reads " + mode.desc, "gooddir/f", "realdir/f"},
			{"a link climbing with .. but staying inside reads " + mode.desc, "deep/link", "real"},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				got, err := storagetest.ReadFile(t.Context(), f, tt.name, 0)
				if err != nil || string(got) != tt.want {
					t.Errorf("ReadFile(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
				}
				fi, err := f.Stat(t.Context(), tt.name)
				if err != nil || !fi.Mode().IsRegular() {
					t.Errorf("Stat(%q) = %v, %v; want a regular file (links followed)", tt.name, fi, err)
				}
			})
		}
		t.Run("a directory link lists its target "+mode.desc, func(t *testing.T) {
			infos, err := f.ReadDir(t.Context(), "gooddir")
			if err != nil || len(infos) != 2 || infos[0].Name() != "f" || infos[1].Name() != "g.x" {
				t.Errorf("ReadDir(gooddir) = %v, %v; want f and g.x", infos, err)
			}
		})
	}
}

func TestSymlinksLeavingTheRootAreRefused(t *testing.T) {
	for _, mode := range bothModes {
		f, outside := symlinkTree(t, mode.opts)
		ctx := t.Context()
		escaping := []string{"etc", "passwd", "up", "updir", "updir/secret", "etc/passwd"}
		for _, name := range escaping {
			t.Run("Stat of "+name+" is not permitted "+mode.desc, func(t *testing.T) {
				_, err := f.Stat(ctx, name)
				wantIs(t, err, fs.ErrPermission)
			})
			t.Run("Open of "+name+" is not permitted "+mode.desc, func(t *testing.T) {
				_, err := storagetest.ReadFile(ctx, f, name, 0)
				wantIs(t, err, fs.ErrPermission)
			})
			t.Run("Create through "+name+" is not permitted "+mode.desc, func(t *testing.T) {
				err := storagetest.WriteFile(ctx, f, name, []byte("pwned"), storage.CreateOptions{})
				wantIs(t, err, fs.ErrPermission)
			})
			t.Run("Chmod and Chtimes through "+name+" are not permitted "+mode.desc, func(t *testing.T) {
				wantIs(t, f.Chmod(ctx, name, 0o777), fs.ErrPermission)
				wantIs(t, f.Chtimes(ctx, name, time.Unix(0, 0)), fs.ErrPermission)
			})
		}
		for _, name := range []string{"etc", "updir"} {
			t.Run("ReadDir into "+name+" is not permitted "+mode.desc, func(t *testing.T) {
				_, err := f.ReadDir(ctx, name)
				wantIs(t, err, fs.ErrPermission)
			})
		}
		t.Run("writing into an escaping directory link is not permitted "+mode.desc, func(t *testing.T) {
			err := storagetest.WriteFile(ctx, f, "updir/new", []byte("x"), storage.CreateOptions{})
			wantIs(t, err, fs.ErrPermission)
			wantIs(t, f.Mkdir(ctx, "updir/newdir"), fs.ErrPermission)
			wantIs(t, f.Rename(ctx, "real", "updir/moved"), fs.ErrPermission)
			wantIs(t, f.Rename(ctx, "updir/secret", "stolen"), fs.ErrPermission)
			wantIs(t, f.Remove(ctx, "updir/secret"), fs.ErrPermission)
		})
		t.Run("the outside stays untouched "+mode.desc, func(t *testing.T) {
			entries, err := os.ReadDir(outside)
			if err != nil || len(entries) != 1 || entries[0].Name() != "secret" {
				t.Errorf("outside holds %v, %v; want only secret", entries, err)
			}
			data, err := os.ReadFile(filepath.Join(outside, "secret"))
			if err != nil || string(data) != "secret" {
				t.Errorf("outside/secret = %q, %v", data, err)
			}
			fi, err := os.Stat(filepath.Join(outside, "secret"))
			if err != nil || fi.Mode().Perm() != 0o644 || fi.ModTime().Unix() == 0 {
				t.Errorf("outside/secret mode %v time %v, %v: changed", fi.Mode(), fi.ModTime(), err)
			}
		})
		t.Run("a listing with bad links still succeeds "+mode.desc, func(t *testing.T) {
			infos, err := f.ReadDir(ctx, ".")
			if err != nil {
				t.Fatal(err)
			}
			modes := map[string]fs.FileMode{}
			for _, fi := range infos {
				modes[fi.Name()] = fi.Mode()
			}
			want := map[string]fs.FileMode{
				"dangling": fs.ModeSymlink, "etc": fs.ModeSymlink, "passwd": fs.ModeSymlink,
				"up": fs.ModeSymlink, "updir": fs.ModeSymlink,
				"good": 0, "gooddir": fs.ModeDir, "real": 0, "realdir": fs.ModeDir, "deep": fs.ModeDir,
			}
			for name, typ := range want {
				m, ok := modes[name]
				if !ok || m.Type() != typ {
					t.Errorf("entry %q: mode %v (listed %v), want type %v", name, m, ok, typ)
				}
			}
			if len(modes) != len(want) {
				t.Errorf("listing has %d entries, want %d: %v", len(modes), len(want), modes)
			}
		})
		t.Run("removing an escaping link removes only the link "+mode.desc, func(t *testing.T) {
			if err := f.Remove(ctx, "up"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
				t.Errorf("outside/secret: %v", err)
			}
		})
	}
}

func TestUploadToAnInsideLink(t *testing.T) {
	t.Run("in direct mode the upload writes through the link", func(t *testing.T) {
		f, _ := symlinkTree(t, localfs.Options{})
		if err := storagetest.WriteFile(t.Context(), f, "good", []byte("new"), storage.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ := storagetest.ReadFile(t.Context(), f, "real", 0)
		if string(got) != "new" {
			t.Errorf("real = %q, want %q", got, "new")
		}
	})
	t.Run("in atomic mode the upload replaces the link", func(t *testing.T) {
		f, _ := symlinkTree(t, localfs.Options{Atomic: true})
		if err := storagetest.WriteFile(t.Context(), f, "good", []byte("new"), storage.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _ := storagetest.ReadFile(t.Context(), f, "real", 0)
		if string(got) != "real" {
			t.Errorf("real = %q, want it unchanged", got)
		}
		got, _ = storagetest.ReadFile(t.Context(), f, "good", 0)
		if string(got) != "new" {
			t.Errorf("good = %q, want %q", got, "new")
		}
	})
}
