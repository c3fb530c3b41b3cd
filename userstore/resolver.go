package userstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
)

// StorageFactory builds the file system of a spec that is not a local
// directory (today: S3). ctx bounds the construction only; the FS outlives
// it. A Resolver shares the result and closes it (when it is an io.Closer)
// in Resolver.Close.
type StorageFactory func(ctx context.Context, spec StorageSpec) (storage.FS, error)

// Resolver turns storage specs into file systems: local roots through
// localfs with one set of options, other kinds through a StorageFactory.
// Each distinct spec is opened once and shared by every account and
// session that names it; a failed open is not remembered, so the next
// login tries again (a bucket created later, an endpoint back up). Logins
// that need the same spec at the same time share one attempt.
//
// One Resolver serves every user source of a server (the configuration
// file's users and a user database), so a root or bucket they share is
// one file system. It is safe for concurrent use.
type Resolver struct {
	local   localfs.Options
	factory StorageFactory

	mu     sync.Mutex
	closed bool
	fss    map[StorageSpec]*resolved
}

// resolved is one file system, ready once done is closed.
type resolved struct {
	done chan struct{}
	fs   storage.FS
	err  error
}

var errResolverClosed = errors.New("userstore: storage resolver is closed")

// NewResolver returns a Resolver that opens local roots with local and
// other storage with factory (nil: such specs fail to resolve).
func NewResolver(local localfs.Options, factory StorageFactory) *Resolver {
	return &Resolver{local: local, factory: factory, fss: map[StorageSpec]*resolved{}}
}

// Resolve returns the file system of spec, opening it on first use.
func (r *Resolver) Resolve(ctx context.Context, spec StorageSpec) (storage.FS, error) {
	if !spec.IsS3() {
		abs, err := filepath.Abs(spec.Root)
		if spec.Root == "" || err != nil {
			return nil, fmt.Errorf("root %q is not a usable path", spec.Root)
		}
		spec = StorageSpec{Kind: StorageLocal, Root: abs}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errResolverClosed
	}
	e, ok := r.fss[spec]
	if !ok {
		e = &resolved{done: make(chan struct{})}
		r.fss[spec] = e
		r.mu.Unlock()
		fsys, err := r.open(ctx, spec)
		r.mu.Lock()
		switch {
		case r.closed:
			if c, ok := fsys.(io.Closer); ok && err == nil {
				c.Close()
			}
			fsys, err = nil, errResolverClosed
		case err != nil:
			delete(r.fss, spec) // not remembered: the next call tries again
		}
		e.fs, e.err = fsys, err
		close(e.done)
	}
	r.mu.Unlock()
	select {
	case <-e.done:
		return e.fs, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// open builds the file system of a normalised spec.
func (r *Resolver) open(ctx context.Context, spec StorageSpec) (storage.FS, error) {
	if spec.IsS3() {
		if r.factory == nil {
			return nil, errors.New("S3 storage is not available (no storage factory configured)")
		}
		fsys, err := r.factory(ctx, spec)
		if err == nil && fsys == nil {
			err = errors.New("the storage factory returned no file system")
		}
		return fsys, err
	}
	if err := CheckRoot(spec.Root); err != nil {
		return nil, err
	}
	fsys, err := localfs.New(spec.Root, r.local)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", spec.Root, err)
	}
	return fsys, nil
}

// Close closes every file system the Resolver opened. Sessions that use
// them must have ended. Later calls to Resolve fail.
func (r *Resolver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	entries := r.fss
	r.fss = nil
	r.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.done
		if c, ok := e.fs.(io.Closer); ok && e.err == nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
