package userstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/storage/memfs"
)

// closingFS is a memfs that counts its Close calls.
type closingFS struct {
	*memfs.FS
	closed *atomic.Int32
}

func (c closingFS) Close() error { c.closed.Add(1); return nil }

func TestResolverSharesOneFileSystemPerSpec(t *testing.T) {
	var built, closed atomic.Int32
	release := make(chan struct{})
	r := NewResolver(localfs.Options{}, func(ctx context.Context, spec StorageSpec) (storage.FS, error) {
		built.Add(1)
		<-release // hold the first open so that others may arrive while it runs
		return closingFS{memfs.New(), &closed}, nil
	})
	spec := StorageSpec{Kind: StorageS3, Bucket: "media", Prefix: "a/"}
	const logins = 8
	fss := make([]storage.FS, logins)
	var wg sync.WaitGroup
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fsys, err := r.Resolve(t.Context(), spec)
			if err != nil {
				t.Errorf("login %d: %v", i, err)
			}
			fss[i] = fsys
		}()
	}
	close(release) // logins that arrive after the open get the shared result too
	wg.Wait()
	if n := built.Load(); n != 1 {
		t.Errorf("%d concurrent logins built the bucket %d times, want once", logins, n)
	}
	for i := range fss {
		if fss[i] != fss[0] {
			t.Fatalf("login %d got a different file system", i)
		}
	}
	other, err := r.Resolve(t.Context(), StorageSpec{Kind: StorageS3, Bucket: "media", Prefix: "b/"})
	if err != nil || other == fss[0] {
		t.Errorf("another prefix: %v, same file system %v", err, other == fss[0])
	}

	dir := t.TempDir()
	l1, err1 := r.Resolve(t.Context(), StorageSpec{Root: dir})
	l2, err2 := r.Resolve(t.Context(), StorageSpec{Kind: StorageLocal, Root: dir + "/."})
	if err1 != nil || err2 != nil || l1 != l2 {
		t.Errorf("one directory named two ways: %v, %v, shared %v", err1, err2, l1 == l2)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := closed.Load(); n != 2 {
		t.Errorf("Close closed %d file systems, want 2 (the two prefixes)", n)
	}
	if _, err := r.Resolve(t.Context(), spec); !errors.Is(err, errResolverClosed) {
		t.Errorf("Resolve after Close: %v", err)
	}
}

func TestResolverDoesNotRememberAFailure(t *testing.T) {
	var up atomic.Bool
	r := NewResolver(localfs.Options{}, func(ctx context.Context, spec StorageSpec) (storage.FS, error) {
		if !up.Load() {
			return nil, errors.New("endpoint down")
		}
		return memfs.New(), nil
	})
	defer r.Close()
	spec := StorageSpec{Kind: StorageS3, Bucket: "late"}
	if _, err := r.Resolve(t.Context(), spec); err == nil {
		t.Fatal("resolved while the endpoint was down")
	}
	up.Store(true)
	if fsys, err := r.Resolve(t.Context(), spec); err != nil || fsys == nil {
		t.Fatalf("the next login after the endpoint came back: %v", err)
	}
	if _, err := r.Resolve(t.Context(), StorageSpec{Root: t.TempDir() + "/missing"}); err == nil {
		t.Error("a root that does not exist resolved")
	}
	if _, err := NewResolver(localfs.Options{}, nil).Resolve(t.Context(), spec); err == nil {
		t.Error("S3 resolved without a factory")
	}
}

func TestResolverWaitIsBoundedByTheCallersContext(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	r := NewResolver(localfs.Options{}, func(ctx context.Context, spec StorageSpec) (storage.FS, error) {
		close(started)
		<-release
		return memfs.New(), nil
	})
	spec := StorageSpec{Kind: StorageS3, Bucket: "slow"}
	go r.Resolve(context.Background(), spec) //nolint:errcheck // the first, slow open
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Resolve(ctx, spec); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a login waiting on a slow open got %v, want its deadline", err)
	}
}
