package config

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ferryftp/ferry/ftpserver"
	"github.com/ferryftp/ferry/password"
	"github.com/ferryftp/ferry/userstore"
	"github.com/ferryftp/ferry/userstore/sqlstore"
)

// openUsersDB opens the users_db database (creating a SQLite file that
// does not exist yet, with no users).
func (c *Config) openUsersDB(checker *password.Checker, resolver *userstore.Resolver) (*sqlstore.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, c.UsersDB, sqlstore.Options{
		Resolver:     resolver,
		Checker:      checker,
		DefaultQuota: QuotaLimits(0, 0, int64(c.Limits.UserMaxBytes), c.Limits.UserMaxFiles),
		OnUsageError: func(user string, err error) {
			slog.Warn("users_db: could not add a quota usage change; SITE QUOTA may be off until a rescan", "user", user, "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("users_db: %w", err)
	}
	return db, nil
}

// fileThenDB authenticates the config file's users (and anonymous names)
// against the file and every other name against the database: a name in
// the file never falls through to the database, so one password only ever
// applies to it.
func fileThenDB(file *userstore.Static, db ftpserver.Authenticator) ftpserver.Authenticator {
	return ftpserver.AuthenticatorFunc(func(ctx context.Context, login ftpserver.LoginInfo) (*ftpserver.Identity, error) {
		if file.Has(login.User) {
			return file.Authenticate(ctx, login)
		}
		return db.Authenticate(ctx, login)
	})
}
