package userstore

import (
	"context"
	"fmt"
	"reflect"

	"github.com/ferryftp/ferry/storage"
)

// CheckHealth implements ftpserver.HealthChecker: the store is open, the
// root of every file system opened at start answers a Stat, the S3
// storage of every account resolves (opened now if no login has yet) and
// answers too, and so does every other file system its Resolver has open
// (a user database's buckets in use, when the Resolver is shared). Each
// distinct file system is checked once.
func (s *Static) CheckHealth(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	seen := map[storage.FS]bool{}
	check := func(a *account) error {
		if a == nil {
			return nil
		}
		fsys, what := a.fs, "storage of "+fmt.Sprintf("%q", a.name)
		if fsys == nil && a.storage.IsS3() {
			var err error
			if fsys, err = s.resolver.Resolve(ctx, a.storage); err != nil {
				return fmt.Errorf("%s (%s): %w", what, a.storage, err)
			}
		}
		return statOnce(ctx, seen, fsys, what)
	}
	if err := check(s.anon); err != nil {
		return err
	}
	for _, a := range s.users {
		if err := check(a); err != nil {
			return err
		}
	}
	return s.resolver.checkHealth(ctx, seen)
}

// CheckHealth reports whether every file system the Resolver has open
// answers a Stat of its root.
func (r *Resolver) CheckHealth(ctx context.Context) error {
	return r.checkHealth(ctx, map[storage.FS]bool{})
}

// checkHealth is CheckHealth, skipping the file systems in seen.
func (r *Resolver) checkHealth(ctx context.Context, seen map[storage.FS]bool) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errResolverClosed
	}
	open := map[StorageSpec]storage.FS{}
	for spec, e := range r.fss {
		select {
		case <-e.done:
			if e.err == nil {
				open[spec] = e.fs
			}
		default: // being opened: the login that opens it reports on it
		}
	}
	r.mu.Unlock()
	for spec, fsys := range open {
		if err := statOnce(ctx, seen, fsys, spec.String()); err != nil {
			return err
		}
	}
	return nil
}

// statOnce checks fsys (storage.HealthChecker, else a Stat of its root)
// unless seen has it, and adds it.
func statOnce(ctx context.Context, seen map[storage.FS]bool, fsys storage.FS, what string) error {
	if fsys == nil {
		return nil
	}
	if reflect.TypeOf(fsys).Comparable() {
		if seen[fsys] {
			return nil
		}
		seen[fsys] = true
	}
	var err error
	if hc, ok := fsys.(storage.HealthChecker); ok {
		err = hc.CheckHealth(ctx)
	} else {
		_, err = fsys.Stat(ctx, ".")
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
