package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferryftp/ferry/ftpserver"
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
	fsys, err := s.resolver.Resolve(ctx, u.Storage)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user %q: storage %s: %w", u.Name, u.Storage, err)
	}
	if fsys, err = s.withQuota(ctx, u, fsys); err != nil {
		return nil, fmt.Errorf("sqlstore: user %q: %w", u.Name, err)
	}
	return &ftpserver.Identity{
		User:        u.Name,
		FS:          fsys,
		Perms:       u.Perms,
		MaxSessions: u.MaxSessions,
		RequireTLS:  u.RequireTLS,
		Rates:       u.Rates,
	}, nil
}
