package storagetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
)

// call is one FS method applied to a name.
type call struct {
	method string
	do     func(ctx context.Context, fsys storage.FS, name string) error
}

// calls lists every method, including the optional ones; calls to an
// optional method the backend lacks are skipped.
var calls = []call{
	{"Stat", func(ctx context.Context, fsys storage.FS, name string) error {
		_, err := fsys.Stat(ctx, name)
		return err
	}},
	{"ReadDir", func(ctx context.Context, fsys storage.FS, name string) error {
		_, err := fsys.ReadDir(ctx, name)
		return err
	}},
	{"Open", func(ctx context.Context, fsys storage.FS, name string) error {
		r, err := fsys.Open(ctx, name, 0)
		if err == nil {
			r.Close()
		}
		return err
	}},
	{"Create", func(ctx context.Context, fsys storage.FS, name string) error {
		w, err := fsys.Create(ctx, name, storage.CreateOptions{})
		if err == nil {
			w.Close()
		}
		return err
	}},
	{"Remove", func(ctx context.Context, fsys storage.FS, name string) error {
		return fsys.Remove(ctx, name)
	}},
	{"Mkdir", func(ctx context.Context, fsys storage.FS, name string) error {
		return fsys.Mkdir(ctx, name)
	}},
	{"RemoveDir", func(ctx context.Context, fsys storage.FS, name string) error {
		return fsys.RemoveDir(ctx, name)
	}},
	{"Rename from", func(ctx context.Context, fsys storage.FS, name string) error {
		return fsys.Rename(ctx, name, "target")
	}},
	{"Rename to", func(ctx context.Context, fsys storage.FS, name string) error {
		return fsys.Rename(ctx, "f", name)
	}},
	{"Chmod", func(ctx context.Context, fsys storage.FS, name string) error {
		c, ok := fsys.(storage.Chmoder)
		if !ok {
			return errSkip
		}
		return c.Chmod(ctx, name, 0o644)
	}},
	{"Chtimes", func(ctx context.Context, fsys storage.FS, name string) error {
		c, ok := fsys.(storage.Chtimeser)
		if !ok {
			return errSkip
		}
		return c.Chtimes(ctx, name, time.Now())
	}},
}

var errSkip = errors.New("optional interface not implemented")

func testInvalidNames(t *testing.T, newFS func(t *testing.T) storage.FS) {
	fsys := setup(t, newFS, tree{"f", "a/", "a/b"})
	names := []string{"", "/abs", "/", "../x", "..", "a/../../b", "a/..", "./a", "a/./b", "a/", "a//b", "a\x00b"}
	for _, c := range calls {
		for _, name := range names {
			t.Run(fmt.Sprintf("%s of %q is invalid", c.method, name), func(t *testing.T) {
				err := c.do(t.Context(), fsys, name)
				if err == errSkip {
					t.Skip(err)
				}
				wantErr(t, fmt.Sprintf("%s(%q)", c.method, name), err, fs.ErrInvalid)
			})
		}
	}
	t.Run("invalid names change nothing", func(t *testing.T) {
		wantContent(t, fsys, "f", "f")
		wantContent(t, fsys, "a/b", "a/b")
		wantNotExist(t, fsys, "target")
	})
}

func testCancelled(t *testing.T, newFS func(t *testing.T) storage.FS) {
	fsys := setup(t, newFS, tree{"f", "dir/"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range calls {
		for _, name := range []string{"f", "dir", "new"} {
			t.Run(fmt.Sprintf("%s of %q fails when the context is cancelled", c.method, name), func(t *testing.T) {
				err := c.do(ctx, fsys, name)
				if err == errSkip {
					t.Skip(err)
				}
				wantErr(t, fmt.Sprintf("%s(%q)", c.method, name), err, context.Canceled)
			})
		}
	}
	t.Run("a cancelled context changes nothing", func(t *testing.T) {
		wantContent(t, fsys, "f", "f")
		wantNotExist(t, fsys, "new")
		wantNotExist(t, fsys, "target")
		if fi, err := fsys.Stat(t.Context(), "dir"); err != nil || !fi.IsDir() {
			t.Errorf("Stat(dir) = %v, %v; want a directory", fi, err)
		}
	})
}

// testConcurrency runs uploads, downloads and listings in parallel, for the
// race detector and for backends with shared state.
func testConcurrency(t *testing.T, newFS func(t *testing.T) storage.FS) {
	t.Run("parallel uploads, reads and listings all succeed", func(t *testing.T) {
		fsys := setup(t, newFS, tree{"dir/"})
		ctx := t.Context()
		const workers = 8
		var wg sync.WaitGroup
		errs := make(chan error, workers*3)
		for i := range workers {
			name := fmt.Sprintf("dir/file%d", i)
			want := fmt.Sprintf("content of file %d", i)
			wg.Go(func() {
				for range 5 {
					if err := WriteFile(ctx, fsys, name, []byte(want), storage.CreateOptions{}); err != nil {
						errs <- err
						return
					}
					got, err := ReadFile(ctx, fsys, name, 0)
					if err != nil {
						errs <- err
						return
					}
					if string(got) != want {
						errs <- fmt.Errorf("%s: read %q, want %q", name, got, want)
						return
					}
				}
			})
			wg.Go(func() {
				for range 5 {
					if _, err := fsys.ReadDir(ctx, "dir"); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		infos, err := fsys.ReadDir(ctx, "dir")
		if err != nil || len(infos) != workers {
			t.Errorf("ReadDir(dir) = %d entries, %v; want %d", len(infos), err, workers)
		}
	})
}
