package userstore

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/memfs"
)

var _ ftpserver.HealthChecker = (*Static)(nil)

func TestCheckHealth(t *testing.T) {
	root := t.TempDir()
	s := newStore(t, []User{{Name: "u", PasswordHash: mustHash(t, "p"), Root: root}}, &Anonymous{Root: root})
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Fatalf("a store with its roots in place: %v", err)
	}
	t.Run("a file system that fails makes the store unhealthy", func(t *testing.T) {
		s := newStore(t, []User{{Name: "v", PasswordHash: mustHash(t, "p"), FS: brokenFS{memfs.New()}}}, nil)
		if err := s.CheckHealth(context.Background()); !errors.Is(err, errBroken) {
			t.Fatalf("CheckHealth = %v, want the storage's error", err)
		}
	})
	t.Run("a closed store is unhealthy", func(t *testing.T) {
		s, err := NewStatic(nil, &Anonymous{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := s.CheckHealth(context.Background()); err == nil {
			t.Fatal("healthy after Close")
		}
	})
}

var errBroken = errors.New("backend unreachable")

// brokenFS is a file system whose Stat fails.
type brokenFS struct{ storage.FS }

func (brokenFS) Stat(context.Context, string) (fs.FileInfo, error) { return nil, errBroken }
