package storagetest

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"

	"github.com/ferryftp/ferry/storage"
)

// Options describe a backend's upload semantics where backends may
// legitimately differ.
type Options struct {
	// InPlaceUploads says that a plain upload over an existing file
	// truncates it when the upload begins (localfs in direct mode), so
	// that Discard cannot bring the old content back: it must then leave
	// an empty file, and a discarded resume keeps the data before the
	// offset. Otherwise a discarded upload leaves the old file unchanged.
	InPlaceUploads bool
}

// snapshot lists every name under dir with its size, recursively, so
// that a test can tell that nothing changed.
func snapshot(t *testing.T, fsys storage.FS, dir string) []string {
	t.Helper()
	entries, err := fsys.ReadDir(t.Context(), dir)
	if err != nil {
		t.Fatalf("ReadDir(%q): %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if dir != "." {
			name = dir + "/" + name
		}
		if e.IsDir() {
			out = append(out, name+"/")
			out = append(out, snapshot(t, fsys, name)...)
			continue
		}
		out = append(out, fmt.Sprintf("%s %d", name, e.Size()))
	}
	return out
}

func wantSnapshot(t *testing.T, fsys storage.FS, before []string) {
	t.Helper()
	if after := snapshot(t, fsys, "."); !slices.Equal(after, before) {
		t.Errorf("the tree changed:\n before %q\n after  %q", before, after)
	}
}

// testCheckCreate holds storage.CreateChecker backends to changing nothing
// and to refusing what Create refuses.
func testCheckCreate(t *testing.T, newFS func(t *testing.T) storage.FS) {
	tests := []struct {
		desc    string
		name    string
		opts    storage.CreateOptions
		wantErr error
	}{
		{desc: "a new name is accepted", name: "new"},
		{desc: "a new name in a directory is accepted", name: "dir/new"},
		{desc: "replacing a file is accepted", name: "f", opts: storage.CreateOptions{}},
		{desc: "appending is accepted", name: "f", opts: storage.CreateOptions{Append: true}},
		{desc: "a resume inside the file is accepted", name: "f", opts: storage.CreateOptions{Offset: 1}},
		{desc: "a resume past the file is refused", name: "f", opts: storage.CreateOptions{Offset: 100}, wantErr: fs.ErrInvalid},
		{desc: "a resume of a missing file is refused", name: "new", opts: storage.CreateOptions{Offset: 1}, wantErr: fs.ErrInvalid},
		{desc: "an exclusive create of a taken name is refused", name: "f", opts: storage.CreateOptions{Exclusive: true}, wantErr: fs.ErrExist},
		{desc: "a directory in the way is refused", name: "dir", wantErr: storage.ErrIsDir},
		{desc: "a missing parent is refused", name: "nodir/f", wantErr: fs.ErrNotExist},
		{desc: "an invalid name is refused", name: "../x", wantErr: fs.ErrInvalid},
	}
	probe := newFS(t)
	if _, ok := probe.(storage.CreateChecker); !ok {
		t.Skipf("%T does not implement storage.CreateChecker", probe)
	}
	for _, tt := range tests {
		t.Run(tt.desc+" and nothing changes", func(t *testing.T) {
			fsys := setup(t, newFS, tree{"f", "dir/", "dir/f"})
			before := snapshot(t, fsys, ".")
			err := fsys.(storage.CreateChecker).CheckCreate(t.Context(), tt.name, tt.opts)
			wantErr(t, "CheckCreate("+tt.name+")", err, tt.wantErr)
			wantSnapshot(t, fsys, before)
			wantContent(t, fsys, "f", "f")
			if tt.wantErr != nil {
				// Create refuses it as well, for the same reason.
				w, err := fsys.Create(t.Context(), tt.name, tt.opts)
				if err == nil {
					w.Close()
				}
				wantErr(t, "Create("+tt.name+")", err, tt.wantErr)
			}
		})
	}
}

// testDiscard holds storage.Discarder writers to leaving nothing behind.
func testDiscard(t *testing.T, newFS func(t *testing.T) storage.FS, o Options) {
	t.Helper()
	const old = "old content"
	tests := []struct {
		desc      string
		name      string
		opts      storage.CreateOptions
		want      string // "-": the name does not exist
		wantPlace string // for InPlaceUploads, if it differs
	}{
		{desc: "a discarded new file leaves nothing", name: "new", want: "-"},
		{desc: "a discarded exclusive file leaves nothing", name: "new", opts: storage.CreateOptions{Exclusive: true}, want: "-"},
		{desc: "a discarded append to a new file leaves nothing", name: "new", opts: storage.CreateOptions{Append: true}, want: "-"},
		{desc: "a discarded replacement", name: "f", want: old, wantPlace: ""},
		{desc: "a discarded append", name: "f", opts: storage.CreateOptions{Append: true}, want: old},
		{desc: "a discarded resume", name: "f", opts: storage.CreateOptions{Offset: 3}, want: old, wantPlace: old[:3]},
	}
	probe, err := newFS(t).Create(t.Context(), "probe", storage.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	if _, ok := probe.(storage.Discarder); !ok {
		t.Skipf("%T does not implement storage.Discarder", probe)
	}
	for _, tt := range tests {
		want := tt.want
		if o.InPlaceUploads && tt.wantPlace != "" || (o.InPlaceUploads && tt.name == "f" && tt.opts == storage.CreateOptions{}) {
			want = tt.wantPlace
		}
		t.Run(tt.desc+" leaves "+fmt.Sprintf("%q", want), func(t *testing.T) {
			fsys := setup(t, newFS, tree{"dir/"})
			ctx := t.Context()
			if err := WriteFile(ctx, fsys, "f", []byte(old), storage.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, fsys, ".")
			w, err := fsys.Create(ctx, tt.name, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("data the server could not keep")); err != nil {
				t.Fatal(err)
			}
			if err := w.(storage.Discarder).Discard(); err != nil {
				t.Fatalf("Discard: %v", err)
			}
			if want == "-" {
				wantNotExist(t, fsys, tt.name)
			} else {
				wantContent(t, fsys, tt.name, want)
			}
			if want == "-" || want == old {
				wantSnapshot(t, fsys, before)
			}
			// The name is free for the next upload, which works.
			if err := WriteFile(ctx, fsys, tt.name, []byte("next"), storage.CreateOptions{}); err != nil {
				t.Fatalf("uploading after Discard: %v", err)
			}
			wantContent(t, fsys, tt.name, "next")
		})
	}
	t.Run("Discard after a successful Close changes nothing", func(t *testing.T) {
		fsys := newFS(t)
		w, err := fsys.Create(t.Context(), "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("kept"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.(storage.Discarder).Discard(); err != nil && !errors.Is(err, fs.ErrClosed) {
			t.Errorf("Discard after Close: %v", err)
		}
		wantContent(t, fsys, "f", "kept")
	})
	t.Run("a discarded resume of an aborted upload leaves nothing", func(t *testing.T) {
		fsys := newFS(t)
		w, err := fsys.Create(t.Context(), "f", storage.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, ok := w.(storage.Aborter)
		if !ok {
			t.Skipf("%T does not implement storage.Aborter", w)
		}
		w.Write([]byte("0123"))
		if err := a.Abort(); err != nil {
			t.Fatal(err)
		}
		partial := snapshot(t, fsys, ".")
		w, err = fsys.Create(t.Context(), "f", storage.CreateOptions{Offset: 4})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("4567"))
		if err := w.(storage.Discarder).Discard(); err != nil {
			t.Fatal(err)
		}
		// Whatever the backend shows of an aborted upload (a visible
		// partial file, or nothing), it shows no more than that now; a
		// hidden resume point is gone.
		after := snapshot(t, fsys, ".")
		if !slices.Equal(after, partial) && len(after) != 0 {
			t.Errorf("after Discard the tree is %q, want %q or nothing", after, partial)
		}
		if len(partial) != 0 {
			// The aborted upload is a visible file: it is as it was
			// before the resume began.
			wantContent(t, fsys, "f", "0123")
			return
		}
		wantErr(t, "resuming the discarded partial",
			WriteFile(t.Context(), fsys, "f", []byte("x"), storage.CreateOptions{Offset: 4}), fs.ErrInvalid)
	})
}
