package storagetest

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
)

func testCreate(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc    string
		name    string
		opts    storage.CreateOptions
		data    string
		wantErr error
		want    string // content of name afterwards; "-" for no file
	}{
		{desc: "a new file gets the data", name: "new", data: "hello", want: "hello"},
		{desc: "a new file in a directory gets the data", name: "dir/new", data: "hello", want: "hello"},
		{desc: "an existing file is truncated", name: "old", data: "xy", want: "xy"},
		{desc: "an empty upload truncates to nothing", name: "old", data: "", want: ""},
		{desc: "an offset keeps the data before it", name: "old", opts: storage.CreateOptions{Offset: 3}, data: "XY", want: "oldXY"},
		{desc: "an offset in the middle drops the old tail", name: "old", opts: storage.CreateOptions{Offset: 1}, data: "Z", want: "oZ"},
		{desc: "an offset at the end continues the file", name: "old", opts: storage.CreateOptions{Offset: 11}, data: "!", want: "old content!"},
		{desc: "an offset past the end is invalid and keeps the file", name: "old", opts: storage.CreateOptions{Offset: 12}, wantErr: fs.ErrInvalid, want: "old content"},
		{desc: "an offset on a missing file is invalid", name: "new", opts: storage.CreateOptions{Offset: 1}, wantErr: fs.ErrInvalid, want: "-"},
		{desc: "append writes after the existing data", name: "old", opts: storage.CreateOptions{Append: true}, data: "+", want: "old content+"},
		{desc: "append creates a missing file", name: "new", opts: storage.CreateOptions{Append: true}, data: "a", want: "a"},
		{desc: "exclusive creates a missing file", name: "new", opts: storage.CreateOptions{Exclusive: true}, data: "x", want: "x"},
		{desc: "exclusive fails on an existing file and keeps it", name: "old", opts: storage.CreateOptions{Exclusive: true}, wantErr: fs.ErrExist, want: "old content"},
		{desc: "a directory cannot be created over", name: "dir", wantErr: storage.ErrIsDir},
		{desc: "the root cannot be created over", name: ".", wantErr: storage.ErrIsDir},
		{desc: "a file in a missing directory cannot be created", name: "nodir/f", wantErr: fs.ErrNotExist, want: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"dir/"})
			if err := WriteFile(t.Context(), fsys, "old", []byte("old content"), storage.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			before := time.Now().Add(-2 * time.Second)
			err := WriteFile(t.Context(), fsys, tt.name, []byte(tt.data), tt.opts)
			wantErr(t, "Create("+tt.name+")", err, tt.wantErr)
			if tt.want == "-" {
				wantNotExist(t, fsys, tt.name)
				return
			}
			if tt.want != "" || tt.wantErr == nil {
				wantContent(t, fsys, tt.name, tt.want)
			}
			if err != nil || tt.wantErr != nil {
				return
			}
			fi, err := fsys.Stat(t.Context(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != int64(len(tt.want)) || !fi.Mode().IsRegular() {
				t.Errorf("Stat = size %d mode %v, want size %d regular", fi.Size(), fi.Mode(), len(tt.want))
			}
			if fi.ModTime().Before(before) {
				t.Errorf("ModTime = %v, want after %v", fi.ModTime(), before)
			}
		})
	}
}

// testResume interrupts an upload (Abort when the writer has it, else Close)
// and resumes it with an Offset, as REST + STOR does after a broken
// connection.
func testResume(t *testing.T, newFS func(t *testing.T) storage.FS) {
	for _, start := range []string{"a new file", "an existing file"} {
		t.Run("an interrupted upload of "+start+" resumes with an offset", func(t *testing.T) {
			fsys := newFS(t)
			ctx := t.Context()
			if start == "an existing file" {
				if err := WriteFile(ctx, fsys, "f", []byte("previous version"), storage.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			w, err := fsys.Create(ctx, "f", storage.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("first half, ")); err != nil {
				t.Fatal(err)
			}
			if a, ok := w.(storage.Aborter); ok {
				err = a.Abort()
			} else {
				err = w.Close()
			}
			if err != nil {
				t.Fatalf("ending the first part: %v", err)
			}
			err = WriteFile(ctx, fsys, "f", []byte("second half"), storage.CreateOptions{Offset: int64(len("first half, "))})
			if err != nil {
				t.Fatalf("resuming: %v", err)
			}
			wantContent(t, fsys, "f", "first half, second half")
		})
	}
}

func testRemove(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc    string
		name    string
		wantErr error
	}{
		{desc: "a file is removed", name: "f"},
		{desc: "a nested file is removed", name: "dir/f"},
		{desc: "a missing file does not exist", name: "missing", wantErr: fs.ErrNotExist},
		{desc: "a file in a missing directory does not exist", name: "nodir/f", wantErr: fs.ErrNotExist},
		{desc: "a directory is not removed", name: "dir", wantErr: storage.ErrIsDir},
		{desc: "the root is not removed", name: ".", wantErr: storage.ErrIsDir},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "dir/", "dir/f"})
			err := fsys.Remove(t.Context(), tt.name)
			wantErr(t, "Remove("+tt.name+")", err, tt.wantErr)
			if tt.wantErr == nil {
				wantNotExist(t, fsys, tt.name)
			}
			if errors.Is(tt.wantErr, storage.ErrIsDir) {
				if _, err := fsys.Stat(t.Context(), tt.name); err != nil {
					t.Errorf("directory gone after failed Remove: %v", err)
				}
			}
		})
	}
}

func testMkdir(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc    string
		name    string
		wantErr error
	}{
		{desc: "a new directory is created", name: "new"},
		{desc: "a nested directory is created", name: "dir/new"},
		{desc: "an existing directory exists", name: "dir", wantErr: fs.ErrExist},
		{desc: "an existing file exists", name: "f", wantErr: fs.ErrExist},
		{desc: "the root exists", name: ".", wantErr: fs.ErrExist},
		{desc: "a missing parent does not exist", name: "nodir/new", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "dir/"})
			err := fsys.Mkdir(t.Context(), tt.name)
			wantErr(t, "Mkdir("+tt.name+")", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			fi, err := fsys.Stat(t.Context(), tt.name)
			if err != nil || !fi.IsDir() {
				t.Fatalf("Stat after Mkdir = %v, %v; want a directory", fi, err)
			}
			infos, err := fsys.ReadDir(t.Context(), tt.name)
			if err != nil || len(infos) != 0 {
				t.Errorf("ReadDir of new directory = %d entries, %v; want none", len(infos), err)
			}
		})
	}
}

func testRemoveDir(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc    string
		name    string
		wantErr error
	}{
		{desc: "an empty directory is removed", name: "empty"},
		{desc: "a nested empty directory is removed", name: "full/sub"},
		{desc: "a directory with a file is not empty", name: "full", wantErr: storage.ErrNotEmpty},
		{desc: "a directory with a directory is not empty", name: "outer", wantErr: storage.ErrNotEmpty},
		{desc: "a missing directory does not exist", name: "missing", wantErr: fs.ErrNotExist},
		{desc: "a file is not a directory", name: "f", wantErr: storage.ErrNotDir},
		{desc: "the root is not removed", name: ".", wantErr: fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "empty/", "full/", "full/f", "full/sub/", "outer/", "outer/inner/"})
			err := fsys.RemoveDir(t.Context(), tt.name)
			wantErr(t, "RemoveDir("+tt.name+")", err, tt.wantErr)
			if errors.Is(err, storage.ErrNotEmpty) && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
				t.Errorf("not-empty error %v also matches NotExist or Permission", err)
			}
			if tt.wantErr == nil {
				wantNotExist(t, fsys, tt.name)
			}
		})
	}
}

func testRename(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc     string
		from, to string
		wantErr  error
		check    map[string]string // name → content after; "-" for gone, "/" for a directory
	}{
		{desc: "a file moves to a new name", from: "f", to: "g",
			check: map[string]string{"f": "-", "g": "f"}},
		{desc: "a file moves into a directory", from: "f", to: "dir/f",
			check: map[string]string{"f": "-", "dir/f": "f"}},
		{desc: "a file replaces an existing file", from: "f", to: "other",
			check: map[string]string{"f": "-", "other": "f"}},
		{desc: "a directory moves with its contents", from: "dir", to: "moved",
			check: map[string]string{"dir": "-", "moved": "/", "moved/inner": "dir/inner", "moved/sub": "/", "moved/sub/deep": "dir/sub/deep"}},
		{desc: "a directory moves into another directory", from: "dir/sub", to: "empty/sub",
			check: map[string]string{"dir/sub": "-", "empty/sub/deep": "dir/sub/deep"}},
		{desc: "a name renamed to itself stays", from: "f", to: "f",
			check: map[string]string{"f": "f"}},
		{desc: "a missing source does not exist", from: "missing", to: "g", wantErr: fs.ErrNotExist,
			check: map[string]string{"g": "-"}},
		{desc: "a missing destination directory does not exist", from: "f", to: "nodir/f", wantErr: fs.ErrNotExist,
			check: map[string]string{"f": "f"}},
		{desc: "a file does not replace a directory", from: "f", to: "empty", wantErr: fs.ErrExist,
			check: map[string]string{"f": "f", "empty": "/"}},
		{desc: "a directory does not replace an empty directory", from: "dir", to: "empty", wantErr: fs.ErrExist,
			check: map[string]string{"dir/inner": "dir/inner", "empty": "/"}},
		{desc: "a directory does not replace a file", from: "dir", to: "f", wantErr: storage.ErrNotDir,
			check: map[string]string{"dir/inner": "dir/inner", "f": "f"}},
		{desc: "a directory does not move into itself", from: "dir", to: "dir/sub/x", wantErr: fs.ErrInvalid,
			check: map[string]string{"dir/sub/deep": "dir/sub/deep"}},
		{desc: "the root does not move", from: ".", to: "x", wantErr: fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "other", "empty/", "dir/", "dir/inner", "dir/sub/", "dir/sub/deep"})
			err := fsys.Rename(t.Context(), tt.from, tt.to)
			wantErr(t, "Rename("+tt.from+", "+tt.to+")", err, tt.wantErr)
			for name, want := range tt.check {
				switch want {
				case "-":
					wantNotExist(t, fsys, name)
				case "/":
					if fi, err := fsys.Stat(t.Context(), name); err != nil || !fi.IsDir() {
						t.Errorf("Stat(%q) = %v, %v; want a directory", name, fi, err)
					}
				default:
					wantContent(t, fsys, name, want)
				}
			}
		})
	}
}

func testChmod(t *testing.T, newFS func(t *testing.T) storage.FS) {
	if _, ok := newFS(t).(storage.Chmoder); !ok {
		t.Skip("backend does not implement storage.Chmoder")
	}
	tests := []struct {
		desc    string
		name    string
		mode    fs.FileMode
		wantErr error
	}{
		{desc: "a file's permissions change", name: "f", mode: 0o600},
		{desc: "a directory's permissions change", name: "dir", mode: 0o700},
		{desc: "bits beyond 0777 are invalid", name: "f", mode: fs.ModeSetuid | 0o755, wantErr: fs.ErrInvalid},
		{desc: "a missing file does not exist", name: "missing", mode: 0o600, wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "dir/"})
			err := fsys.(storage.Chmoder).Chmod(t.Context(), tt.name, tt.mode)
			wantErr(t, "Chmod("+tt.name+")", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			fi, err := fsys.Stat(t.Context(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("Mode = %v, want permissions %v", fi.Mode(), tt.mode)
			}
		})
	}
}

func testChtimes(t *testing.T, newFS func(t *testing.T) storage.FS) {
	if _, ok := newFS(t).(storage.Chtimeser); !ok {
		t.Skip("backend does not implement storage.Chtimeser")
	}
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		desc    string
		name    string
		wantErr error
	}{
		{desc: "a file's modification time is set", name: "f"},
		{desc: "a directory's modification time is set", name: "dir"},
		{desc: "a missing file does not exist", name: "missing", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "dir/"})
			err := fsys.(storage.Chtimeser).Chtimes(t.Context(), tt.name, mtime)
			wantErr(t, "Chtimes("+tt.name+")", err, tt.wantErr)
			if tt.wantErr != nil {
				return
			}
			fi, err := fsys.Stat(t.Context(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(mtime) {
				t.Errorf("ModTime = %v, want %v", fi.ModTime(), mtime)
			}
		})
	}
}
