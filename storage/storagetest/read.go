package storagetest

import (
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
)

func testStat(t *testing.T, newFS func(t *testing.T) storage.FS) {
	before := time.Now().Add(-2 * time.Second)
	fsys := setup(t, newFS, tree{"dir/", "dir/sub/", "dir/sub/file.txt", "top"})
	after := time.Now().Add(2 * time.Second)
	tests := []struct {
		desc    string
		name    string
		base    string
		dir     bool
		size    int64
		wantErr error
	}{
		{desc: "the root is a directory", name: ".", dir: true},
		{desc: "a top-level file has its size", name: "top", base: "top", size: 3},
		{desc: "a directory is a directory", name: "dir", base: "dir", dir: true},
		{desc: "a nested directory is a directory", name: "dir/sub", base: "sub", dir: true},
		{desc: "a nested file has its base name and size", name: "dir/sub/file.txt", base: "file.txt", size: int64(len("dir/sub/file.txt"))},
		{desc: "a missing file does not exist", name: "missing", wantErr: fs.ErrNotExist},
		{desc: "a missing nested file does not exist", name: "dir/sub/missing", wantErr: fs.ErrNotExist},
		{desc: "a file in a missing directory does not exist", name: "nodir/file", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fi, err := fsys.Stat(t.Context(), tt.name)
			wantErr(t, "Stat("+tt.name+")", err, tt.wantErr)
			if err != nil || tt.wantErr != nil {
				return
			}
			if fi.IsDir() != tt.dir || fi.Mode().IsDir() != tt.dir {
				t.Errorf("IsDir = %v, Mode = %v; want dir %v", fi.IsDir(), fi.Mode(), tt.dir)
			}
			if !tt.dir && !fi.Mode().IsRegular() {
				t.Errorf("Mode = %v, want a regular file", fi.Mode())
			}
			if tt.base != "" && fi.Name() != tt.base {
				t.Errorf("Name = %q, want %q", fi.Name(), tt.base)
			}
			if !tt.dir && fi.Size() != tt.size {
				t.Errorf("Size = %d, want %d", fi.Size(), tt.size)
			}
			if !tt.dir && (fi.ModTime().Before(before) || fi.ModTime().After(after)) {
				t.Errorf("ModTime = %v, want between %v and %v", fi.ModTime(), before, after)
			}
		})
	}
}

func testReadDir(t *testing.T, newFS func(t *testing.T) storage.FS) {
	fsys := setup(t, newFS, tree{
		"b", "a", "C", "d/", "d/z", "d/y/", "d/x", "empty/", "a.txt", "a-b",
	})
	type entry struct {
		name string
		dir  bool
		size int64
	}
	tests := []struct {
		desc    string
		name    string
		want    []entry
		wantErr error
	}{
		{desc: "the root lists its entries sorted by name", name: ".", want: []entry{
			{"C", false, 1}, {"a", false, 1}, {"a-b", false, 3}, {"a.txt", false, 5},
			{"b", false, 1}, {"d", true, 0}, {"empty", true, 0},
		}},
		{desc: "a nested directory lists base names sorted", name: "d", want: []entry{
			{"x", false, 3}, {"y", true, 0}, {"z", false, 3},
		}},
		{desc: "an empty directory lists nothing", name: "empty", want: []entry{}},
		{desc: "a missing directory does not exist", name: "nope", wantErr: fs.ErrNotExist},
		{desc: "a file is not a directory", name: "a.txt", wantErr: storage.ErrNotDir},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			infos, err := fsys.ReadDir(t.Context(), tt.name)
			wantErr(t, "ReadDir("+tt.name+")", err, tt.wantErr)
			if err != nil || tt.wantErr != nil {
				return
			}
			got := make([]entry, 0, len(infos))
			for _, fi := range infos {
				e := entry{name: fi.Name(), dir: fi.IsDir()}
				if !e.dir {
					e.size = fi.Size()
				}
				got = append(got, e)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ReadDir(%q) =\n%v\nwant\n%v", tt.name, got, tt.want)
			}
		})
	}
}

func testOpen(t *testing.T, newFS func(t *testing.T) storage.FS) {
	fsys := setup(t, newFS, tree{"dir/"})
	const content = "0123456789"
	if err := WriteFile(t.Context(), fsys, "f", []byte(content), storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(t.Context(), fsys, "empty", nil, storage.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		name    string
		offset  int64
		want    string
		wantErr error
	}{
		{desc: "offset zero reads the whole file", name: "f", want: content},
		{desc: "an offset in the middle reads the rest", name: "f", offset: 4, want: "456789"},
		{desc: "an offset at the end reads nothing", name: "f", offset: 10, want: ""},
		{desc: "an offset past the end reads nothing", name: "f", offset: 1000, want: ""},
		{desc: "an empty file reads nothing", name: "empty", want: ""},
		{desc: "a negative offset is invalid", name: "f", offset: -1, wantErr: fs.ErrInvalid},
		{desc: "a missing file does not exist", name: "missing", wantErr: fs.ErrNotExist},
		{desc: "a directory cannot be opened", name: "dir", wantErr: storage.ErrIsDir},
		{desc: "the root cannot be opened", name: ".", wantErr: storage.ErrIsDir},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ReadFile(t.Context(), fsys, tt.name, tt.offset)
			wantErr(t, "Open("+tt.name+")", err, tt.wantErr)
			if err == nil && string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
		})
	}
}
