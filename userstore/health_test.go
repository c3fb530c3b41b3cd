package userstore

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
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

// sickS3 is an S3-like file system: its root always stats, and only
// CheckHealth tells whether the service is there.
type sickS3 struct {
	storage.FS
	err error
}

func (s sickS3) CheckHealth(context.Context) error { return s.err }

func TestCheckHealthAsksTheBackendNotItsRoot(t *testing.T) {
	var down error
	r := NewResolver(localfs.Options{}, func(ctx context.Context, spec StorageSpec) (storage.FS, error) {
		return &sickS3{FS: memfs.New(), err: down}, nil
	})
	defer r.Close()
	in := StorageSpec{Kind: StorageS3, Bucket: "in-use"}
	if _, err := r.Resolve(t.Context(), in); err != nil { // a database user's login opened it
		t.Fatal(err)
	}
	s, err := NewStatic([]User{{Name: "u", PasswordHash: mustHash(t, "p"), Storage: StorageSpec{Kind: StorageS3, Bucket: "cfg"}}}, nil, WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckHealth(t.Context()); err != nil {
		t.Fatalf("healthy buckets: %v", err)
	}
	down = errBroken // buckets opened from now on are down; "in-use" is not
	r2 := NewResolver(localfs.Options{}, r.factory)
	defer r2.Close()
	s2, err := NewStatic([]User{{Name: "u", PasswordHash: mustHash(t, "p"), Storage: StorageSpec{Kind: StorageS3, Bucket: "cfg"}}}, nil, WithResolver(r2))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.CheckHealth(t.Context()); !errors.Is(err, errBroken) {
		t.Fatalf("a config user's bucket that is down: CheckHealth = %v", err)
	}
	if _, err := r.Resolve(t.Context(), StorageSpec{Kind: StorageS3, Bucket: "db-user"}); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckHealth(t.Context()); !errors.Is(err, errBroken) {
		t.Fatalf("a database user's bucket in use that is down: CheckHealth = %v", err)
	}
	if err := s.CheckHealth(t.Context()); !errors.Is(err, errBroken) {
		t.Fatalf("the config store sharing that resolver: CheckHealth = %v", err)
	}
}
