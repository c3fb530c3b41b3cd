package storage_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

func TestGuardChecksEveryOperation(t *testing.T) {
	backend := memfs.New()
	backend.WriteFile("a", []byte("x"))
	var seen []string
	deny := errors.New("denied")
	fsys := storage.Guard(backend, func(_ context.Context, op storage.Op, name string) error {
		seen = append(seen, string(op)+" "+name)
		if name == "secret" {
			return deny
		}
		return nil
	})
	ctx := t.Context()
	fsys.Stat(ctx, "a")
	fsys.ReadDir(ctx, ".")
	r, _ := fsys.Open(ctx, "a", 0)
	r.Close()
	w, _ := fsys.Create(ctx, "b", storage.CreateOptions{})
	w.Close()
	fsys.Mkdir(ctx, "d")
	fsys.RemoveDir(ctx, "d")
	fsys.Rename(ctx, "b", "c")
	fsys.Remove(ctx, "c")
	fsys.(storage.Chmoder).Chmod(ctx, "a", 0o600)
	fsys.(storage.Chtimeser).Chtimes(ctx, "a", time.Now())
	fsys.(storage.CreateChecker).CheckCreate(ctx, "e", storage.CreateOptions{})
	want := []string{"stat a", "readdir .", "open a", "create b", "mkdir d", "rmdir d", "rename b", "rename c",
		"remove c", "chmod a", "chtimes a", "create e"}
	if !slices.Equal(seen, want) {
		t.Errorf("checked %q, want %q", seen, want)
	}

	for name, call := range map[string]func() error{
		"Stat":        func() error { _, err := fsys.Stat(ctx, "secret"); return err },
		"Open":        func() error { _, err := fsys.Open(ctx, "secret", 0); return err },
		"Create":      func() error { _, err := fsys.Create(ctx, "secret", storage.CreateOptions{}); return err },
		"Rename to":   func() error { return fsys.Rename(ctx, "a", "secret") },
		"Chtimes":     func() error { return fsys.(storage.Chtimeser).Chtimes(ctx, "secret", time.Now()) },
		"CheckCreate": func() error { return fsys.(storage.CreateChecker).CheckCreate(ctx, "secret", storage.CreateOptions{}) },
	} {
		if err := call(); !errors.Is(err, deny) {
			t.Errorf("%s of a refused name: %v", name, err)
		}
	}
	if _, err := backend.Stat(ctx, "a"); err != nil {
		t.Errorf("a refused rename moved the file: %v", err)
	}
}

// plain hides memfs's optional interfaces.
type plain struct{ storage.FS }

func TestGuardAnswersErrUnsupportedForWhatTheBackendLacks(t *testing.T) {
	fsys := storage.Guard(plain{memfs.New()}, func(context.Context, storage.Op, string) error { return nil })
	ctx := t.Context()
	if err := fsys.(storage.Chmoder).Chmod(ctx, "a", 0o600); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Chmod: %v", err)
	}
	if err := fsys.(storage.Chtimeser).Chtimes(ctx, "a", time.Now()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Chtimes: %v", err)
	}
	if err := fsys.(storage.CreateChecker).CheckCreate(ctx, "a", storage.CreateOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("CheckCreate: %v", err)
	}
	if _, err := fsys.Stat(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat passes the backend's errors on: %v", err)
	}
}
