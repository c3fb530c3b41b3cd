package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/storage"
	"github.com/ferryftp/ferry/storage/localfs"
	"github.com/ferryftp/ferry/userstore"
)

// Authenticate implements ftpserver.Authenticator. It reads the user from
// the database on every call, so changes apply at the next login. Unknown
// users cost the same argon2id work as known ones (a check against
// password.Dummy); unknown, disabled and wrong-password logins all fail with
// ftpserver.ErrAuthFailed. A database error, or storage that cannot be
// opened after a correct password, is returned as another error (the server
// logs it and answers 421).
func (s *Store) Authenticate(ctx context.Context, login ftpserver.LoginInfo) (*ftpserver.Identity, error) {
	if s.isClosed() {
		return nil, errClosed
	}
	var u *User
	if userstore.CheckName(login.User) == nil {
		got, err := s.get(ctx, s.db, login.User, "")
		switch {
		case err == nil:
			u = &got
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	var hash string
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.checker.Check(ctx, hash, u != nil, login.Password)
	if err != nil {
		// Never include the password.
		return nil, fmt.Errorf("sqlstore: user %q: %w", login.User, err)
	}
	if !ok || u.Disabled {
		return nil, ftpserver.ErrAuthFailed
	}
	fsys, err := s.storageFor(ctx, u.Storage)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user %q: storage %s: %w", u.Name, u.Storage, err)
	}
	return &ftpserver.Identity{
		User:        u.Name,
		FS:          fsys,
		Perms:       u.Perms,
		MaxSessions: u.MaxSessions,
		RequireTLS:  u.RequireTLS,
	}, nil
}

// storageFor returns the file system of spec, building it on first use and
// sharing it afterwards. A failed build is not cached: the next login tries
// again.
func (s *Store) storageFor(ctx context.Context, spec StorageSpec) (storage.FS, error) {
	if !spec.IsS3() {
		spec = StorageSpec{Kind: StorageLocal, Root: filepath.Clean(spec.Root)}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	e, ok := s.fss[spec]
	if !ok {
		e = &fsEntry{done: make(chan struct{})}
		s.fss[spec] = e
		s.mu.Unlock()
		fsys, err := s.build(ctx, spec)
		s.mu.Lock()
		switch {
		case s.closed:
			if c, ok := fsys.(io.Closer); ok && err == nil {
				c.Close()
			}
			fsys, err = nil, errClosed
		case err != nil:
			delete(s.fss, spec)
		}
		e.fs, e.err = fsys, err
		close(e.done)
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.fs, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// build opens a local root or calls the StorageFactory.
func (s *Store) build(ctx context.Context, spec StorageSpec) (storage.FS, error) {
	if spec.IsS3() {
		if s.opts.StorageFactory == nil {
			return nil, errors.New("S3 storage is not available (no storage factory configured)")
		}
		fsys, err := s.opts.StorageFactory(ctx, spec)
		if err == nil && fsys == nil {
			err = errors.New("the storage factory returned no file system")
		}
		return fsys, err
	}
	if err := userstore.CheckRoot(spec.Root); err != nil {
		return nil, err
	}
	fsys, err := localfs.New(spec.Root, s.opts.Local)
	if err != nil {
		return nil, err
	}
	return fsys, nil
}
